//! A player that brings its own offer (WHEP): Tern answers it and sends the
//! stream's tracks on the m-lines the player offered to receive. No
//! renegotiation follows, so such a player plays one stream, never a room.

use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::media::{MediaKind, Mid};
use tern_core::{
    MediaEvent, MediaProfile, PeerId, PeerRole, SdpFailure, SessionId, Source, StreamKey,
};

use crate::peer::{Peer, TrackOut};
use crate::sdp_text::{accepted_media, first_mid, one_media_stream, reject_application};
use crate::sink::webrtc::NewSource;
use crate::source::stats::codec_name;
use crate::worker::Sfu;

impl Sfu {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn answer_player(
        &mut self,
        now: Instant,
        id: PeerId,
        session: SessionId,
        stream: &StreamKey,
        sources: Vec<Source>,
        profile: MediaProfile,
        offer: &str,
    ) {
        let parsed = match SdpOffer::from_sdp_string(offer) {
            Ok(o) => o,
            Err(e) => {
                let why = format!("the offer does not parse: {e}");
                return self.sdp_failed(id, SdpFailure::Remote(why));
            }
        };
        let source_tracks: Vec<NewSource> = sources
            .iter()
            .filter_map(|s| {
                let (tracks, simulcast) = self.source_tracks(s.peer)?;
                Some((s.clone(), tracks, simulcast))
            })
            .collect();
        let bwe = source_tracks.iter().any(|(_, _, simulcast)| *simulcast);
        let (mut rtc, direct) = self.new_player_rtc(profile, now, bwe);
        let answer = match rtc.sdp_api().accept_offer(parsed) {
            Ok(a) if profile.data_channel => a.to_sdp_string(),
            Ok(a) => reject_application(&a.to_sdp_string()),
            Err(e) => {
                let why = format!("the offer was refused: {e}");
                return self.sdp_failed(id, SdpFailure::Remote(why));
            }
        };
        // Each track of the stream goes on the first free m-line of its kind
        // that the answer accepted and that sends.
        let mut free: Vec<(Mid, MediaKind)> = accepted_media(&answer, "sendonly");
        let mut tracks = Vec::new();
        for (source, list, simulcast) in &source_tracks {
            for (source_mid, kind) in list {
                let Some(i) = free.iter().position(|(_, k)| k == kind) else {
                    continue;
                };
                let (mid, _) = free.remove(i);
                tracks.push(TrackOut::new(
                    source.peer,
                    *source_mid,
                    mid,
                    *kind,
                    *simulcast,
                ));
            }
        }
        // The video the stream sends must be one the player takes: else it
        // would get no picture and no word of why.
        if let Some(codec) = source_tracks
            .first()
            .and_then(|(s, _, _)| self.peers.get(&s.peer))
            .and_then(|p| p.stats.video_codec())
        {
            let takes = |mid: Mid| {
                rtc.media(mid).is_some_and(|m| {
                    m.remote_pts().iter().any(|pt| {
                        rtc.codec_config()
                            .find(|p| p.pt() == *pt)
                            .is_some_and(|p| codec_name(p.spec().codec) == codec)
                    })
                })
            };
            let video = tracks.iter().find(|t| t.kind == MediaKind::Video);
            if video.is_some_and(|t| !takes(t.mid)) {
                let why = format!("the offer accepts no codec the stream sends ({codec})");
                return self.sdp_failed(id, SdpFailure::Local(why));
            }
        }
        if tracks.is_empty() {
            let sends: Vec<&str> = source_tracks
                .iter()
                .flat_map(|(_, l, _)| l.iter().map(|(_, k)| kind_name(*k)))
                .collect();
            let why = format!(
                "the offer receives nothing stream {stream} sends ({}) with a codec in common",
                sends.join(", ")
            );
            return self.sdp_failed(id, SdpFailure::Local(why));
        }
        let answer = one_media_stream(&answer, &stream.id);
        let mut peer = Peer::new(rtc, PeerRole::Player, session, profile, now);
        peer.direct = direct;
        peer.stream_id = stream.id.clone();
        // The answer is given: DTLS may start as soon as the player's packets come.
        peer.dtls_started = true;
        for t in &tracks {
            if t.simulcast {
                peer.next_tick.get_or_insert(now);
            }
        }
        peer.tracks_out = tracks;
        peer.sources = sources;
        let players: Vec<PeerId> = peer.sources.iter().map(|s| s.peer).collect();
        self.peers.insert(id, peer);
        for source in players {
            self.streams.entry(source).or_default().players.push(id);
            self.request_keyframes(now, source);
        }
        self.dirty.push(id);
        let candidates = self.candidates(first_mid(&answer), None);
        self.event(MediaEvent::Answer {
            peer: id,
            sdp: answer,
            candidates,
        });
    }
}

fn kind_name(k: MediaKind) -> &'static str {
    if k == MediaKind::Audio {
        "audio"
    } else {
        "video"
    }
}
