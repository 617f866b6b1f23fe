//! How a peer's str0m `Rtc` is made (RTP mode, ICE-lite, codecs, bandwidth
//! estimation, statistics) and the candidates on both sides: the server's
//! host candidates (UDP, and passive TCP with ICE-TCP) and the page's.

use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::net::{Protocol, TcpType};
use str0m::{Candidate, IceCreds, Rtc, RtcConfig};
use tern_core::{LocalCandidates, MediaProfile, PeerId};

use crate::worker::Sfu;

impl Sfu {
    /// `direct`: a player whose media Tern seals itself (`egress/`): str0m
    /// sends no sender reports of its own (they would describe streams it
    /// never wrote) and hands over incoming RTCP for the NACKs.
    pub(crate) fn new_rtc(
        &self,
        profile: MediaProfile,
        now: Instant,
        bwe: bool,
        direct: bool,
    ) -> Rtc {
        // RTP mode: packets are forwarded as they come, never reassembled into
        // frames and cut up again, and a payload is shared by every player.
        // The worker's tag leads the ufrag: a connection on the shared HTTPS
        // port names it in its first STUN check, and so finds its worker.
        let mut creds = IceCreds::new();
        creds.ufrag = format!("{}{}", ufrag_tag(self.index), creds.ufrag);
        let mut cfg = RtcConfig::new()
            .set_local_ice_credentials(creds)
            .set_rtp_mode(true)
            .set_ice_lite(!profile.full_ice)
            .set_dtls_cert(self.cert.clone())
            .clear_codecs()
            .enable_opus(true, false)
            .set_send_buffer_video(VIDEO_SEND_BUFFER)
            // A player syncs audio with video from two sender reports of
            // each: str0m's 5 s for audio left new players out of sync for
            // their first ~12 s.
            .set_rtcp_report_interval_audio(AUDIO_REPORT_INTERVAL)
            .set_stats_interval(
                self.peer_stats
                    .then_some(crate::peer::quality::QUALITY_INTERVAL),
            );
        if bwe {
            cfg = cfg.enable_bwe(Some(Bitrate::bps(INITIAL_ESTIMATE)));
        }
        if direct {
            cfg = cfg
                .set_rtcp_report_interval_audio(NO_REPORTS)
                .set_rtcp_report_interval_video(NO_REPORTS)
                .enable_raw_packets(true);
        }
        // The answer lists codecs in this order, and the publisher sends the
        // first it can.
        if profile.h264 && profile.prefer_h264 {
            cfg = cfg.enable_h264(true);
        }
        if profile.vp8 {
            cfg = cfg.enable_vp8(true);
        }
        if profile.h264 && !profile.prefer_h264 {
            cfg = cfg.enable_h264(true);
        }
        let mut rtc = cfg.build(now);
        for c in self.candidates_of(profile.local) {
            rtc.add_local_candidate(c);
        }
        rtc
    }

    /// The peer's own address when it has one, else the worker's.
    fn candidates_of(&self, local: Option<std::net::SocketAddr>) -> Vec<Candidate> {
        match local {
            Some(addr) => Candidate::host(addr, "udp").ok().into_iter().collect(),
            None => self.local_candidates(),
        }
    }

    /// A UDP host candidate per address, and with ICE-TCP a passive TCP one
    /// on the same address and port (ICE prefers UDP where it works).
    fn local_candidates(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        let passive = |addr: std::net::SocketAddr| {
            Candidate::builder()
                .tcp()
                .host(addr)
                .tcptype(TcpType::Passive)
                .build()
                .ok()
        };
        for addr in self.local.all() {
            out.extend(Candidate::host(*addr, "udp").ok());
            if self.ice_tcp {
                out.extend(passive(*addr));
            }
            if let Some(port) = self.shared_tcp_port {
                out.extend(passive(std::net::SocketAddr::new(addr.ip(), port)));
            }
        }
        out
    }

    pub(crate) fn candidates(
        &self,
        mid: String,
        local: Option<std::net::SocketAddr>,
    ) -> LocalCandidates {
        let lines = self
            .candidates_of(local)
            .iter()
            .map(|c| c.to_sdp_string())
            .collect();
        LocalCandidates { mid, lines }
    }

    pub(crate) fn add_candidate(&mut self, id: PeerId, line: &str) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let line = line.trim().trim_start_matches("a=");
        match Candidate::from_sdp_string(line) {
            // An ICE-lite server only answers checks over UDP; TCP candidates
            // (the SDK sends `tcp ... port 9`) have nothing to pair with.
            Ok(c) if c.proto() == Protocol::Udp => {
                peer.rtc.add_remote_candidate(c);
                self.dirty.push(id);
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(peer = %id, "unusable candidate: {e}"),
        }
    }
}

/// How worker `index`'s ufrags begin: `w{index}z` (ICE characters only).
fn ufrag_tag(index: usize) -> String {
    format!("w{index}z")
}

/// The worker whose ufrag leads `username` (a STUN check's USERNAME,
/// `{ours}:{theirs}`), if it carries a worker tag.
pub fn worker_of_username(username: &str) -> Option<usize> {
    let ours = username.split(':').next()?;
    let rest = ours.strip_prefix('w')?;
    let (index, _) = rest.split_once('z')?;
    if index.is_empty() || index.len() > 4 {
        return None;
    }
    index.parse().ok()
}

/// Video packets kept per player for retransmission (NACK) and probing: about
/// 2 s at 1.5 Mbit/s. str0m's default of 1,000 made its cache most of a
/// player's memory (1.2 MB), for NACKs that come within a round trip.
/// Between sender reports of an audio track, as for video (str0m: 5 s).
const AUDIO_REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

const VIDEO_SEND_BUFFER: usize = 300;

/// str0m's report interval for streams Tern writes itself: never, in practice.
const NO_REPORTS: std::time::Duration = std::time::Duration::from_secs(86_400 * 365);

/// Where a player's bandwidth estimate starts: enough for a middle layer, so
/// the first frames come quickly and probing finds out the rest.
const INITIAL_ESTIMATE: u64 = 2_500_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_names_the_worker_of_its_ufrag() {
        let ours = format!("{}AbCd1234", ufrag_tag(3));
        assert_eq!(worker_of_username(&format!("{ours}:theirs")), Some(3));
        assert_eq!(
            worker_of_username(&format!("{}x:y", ufrag_tag(12))),
            Some(12)
        );
        for bad in ["", ":", "abc:def", "wz:x", "w12345z:x", "wxz:y", "w1:y"] {
            assert_eq!(worker_of_username(bad), None, "{bad}");
        }
    }
}
