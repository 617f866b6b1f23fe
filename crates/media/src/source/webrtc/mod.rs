//! A WebRTC publisher: its offer answered (receive-only, with the app's
//! codecs), and its packets read into the stream (`ingest`).

pub mod ingest;

use std::time::Instant;

use str0m::change::SdpOffer;
use tern_core::{MediaEvent, MediaProfile, PeerId, PeerRole, SdpFailure, SessionId, StreamKey};

use crate::peer::Peer;
use crate::sdp_text::{
    first_mid, offers_simulcast, publisher_offer_as_sendonly, reject_application, rejected_media,
};
use crate::worker::Sfu;

impl Sfu {
    pub(crate) fn open_publisher(
        &mut self,
        now: Instant,
        id: PeerId,
        session: SessionId,
        stream: &StreamKey,
        profile: MediaProfile,
        offer: &str,
    ) {
        let offer = publisher_offer_as_sendonly(offer);
        let parsed = match SdpOffer::from_sdp_string(&offer) {
            Ok(o) => o,
            Err(e) => {
                return self.sdp_failed(
                    id,
                    SdpFailure::Remote(format!("the offer does not parse: {e}")),
                )
            }
        };
        let simulcast = offers_simulcast(&offer);
        let mut rtc = self.new_rtc(profile, now, false, false);
        let answer = match rtc.sdp_api().accept_offer(parsed) {
            Ok(a) if profile.data_channel => a.to_sdp_string(),
            Ok(a) => reject_application(&a.to_sdp_string()),
            Err(e) => {
                return self.sdp_failed(
                    id,
                    SdpFailure::Remote(format!("the offer was refused: {e}")),
                )
            }
        };
        let rejected = rejected_media(&offer, &answer);
        if !rejected.is_empty() {
            let why = format!(
                "no {} codec in common: stream {} accepts {}",
                rejected.join("/"),
                stream,
                codec_list(profile)
            );
            return self.sdp_failed(id, SdpFailure::Local(why));
        }
        let first_mid = first_mid(&answer);
        let mut peer = Peer::new(rtc, PeerRole::Publisher, session, profile, now);
        peer.simulcast = simulcast;
        self.peers.insert(id, peer);
        if let Some(local) = profile.local {
            self.by_local.insert(local, id);
        }
        self.dirty.push(id);
        let candidates = self.candidates(first_mid, profile.local);
        self.event(MediaEvent::Answer {
            peer: id,
            sdp: answer,
            candidates,
        });
    }
}

fn codec_list(p: MediaProfile) -> String {
    let mut v = vec!["Opus"];
    if p.vp8 {
        v.push("VP8");
    }
    if p.h264 {
        v.push("H264");
    }
    v.join(", ")
}
