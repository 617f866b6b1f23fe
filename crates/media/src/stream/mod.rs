//! A stream: one source feeding its sinks on this worker. Every packet of a
//! source goes, once, to:
//! - the WebRTC players (`fanout`: the RTP fast path, no frame assembly);
//! - other media workers with players of it (`crate::mirror`), shared;
//! - the frame sinks, if it has any (`crate::sink::frame_tap`): frames
//!   assembled once for all of them, handed over without ever blocking;
//! - the keyframe cache a new player starts from (`gop`).
//!
//! Keyframe requests, data-channel messages and layer choice flow back the
//! same way whatever the kinds at either end.

pub mod data;
pub mod fanout;
pub mod forward;
pub mod gop;
pub mod keyframes;
pub mod local;
pub mod pending;

use std::sync::Arc;
use std::time::Instant;

use tern_core::{PeerId, PlayerData};

use crate::rtp::packet::Ingress;
use crate::sink::frame_sink::FrameSink;
use crate::sink::frame_tap::FrameTap;
use crate::stream::forward::Forward;
use crate::worker::Sfu;

impl Sfu {
    pub(crate) fn forward(&mut self, now: Instant, from: PeerId, f: Forward) {
        if !matches!(f, Forward::Media(_)) {
            // Data, keyframe requests and a player's start see every packet
            // that came before them already sent.
            self.flush_fan_out(now);
        }
        match f {
            Forward::Media(ingress) => {
                self.relay_media(from, &ingress);
                self.fan_out(now, from, &ingress);
            }
            Forward::Data { binary, data } => {
                let data: Arc<[u8]> = data.into();
                self.relay_data(from, binary, &data);
                self.publisher_data(from, binary, &data);
            }
            Forward::PlayerData { binary, data } => {
                let Some(player) = self.peers.get(&from) else {
                    return;
                };
                let to_others = match player.profile.player_data {
                    PlayerData::None => return,
                    PlayerData::Publisher => false,
                    PlayerData::All => true,
                };
                let session = player.session;
                let sources: Vec<PeerId> = player.sources.iter().map(|s| s.peer).collect();
                let data: Arc<[u8]> = data.into();
                self.relay_player_data(session, &sources, to_others, binary, &data);
                self.player_data(session, &sources, to_others, binary, &data);
            }
            Forward::Keyframe {
                source,
                mid,
                rid,
                kind,
            } => self.request_keyframe(now, source, mid, rid, kind),
            Forward::Started => self.start_player(now, from),
        }
    }

    /// One packet of `from` (a publisher here, or mirrored) to its sinks here.
    pub(crate) fn fan_out(&mut self, now: Instant, from: PeerId, ingress: &Arc<Ingress>) {
        let stream = self.streams.entry(from).or_default();
        stream.gop.push(ingress);
        let mut wants_keyframe = false;
        if let Some(tap) = stream.tap.as_mut() {
            tap.handle_packet(now, ingress);
            wants_keyframe = tap.take_keyframe_request();
            if tap.is_empty() {
                stream.tap = None;
            }
        }
        // The players get it with the rest of the batch, one player at a
        // time (`pending::Pending`).
        self.defer_fan_out(now, from, ingress);
        if wants_keyframe {
            self.request_keyframes(now, from);
        }
    }

    /// A player's connection is up: it gets what its sources' keyframe
    /// caches hold at once, or asks them for keyframes.
    fn start_player(&mut self, now: Instant, id: PeerId) {
        let Some(player) = self.peers.get(&id) else {
            return;
        };
        let sources: Vec<PeerId> = player.sources.iter().map(|s| s.peer).collect();
        let since = now.checked_sub(gop::MAX_AGE).unwrap_or(now);
        for source in sources {
            let cached = self.streams.get(&source).and_then(|s| s.gop.replay(since));
            let Some(packets) = cached else {
                self.request_keyframes(now, source);
                continue;
            };
            let mut wants = Vec::new();
            for p in &packets {
                self.forward_to_player(now, id, source, p, &mut wants);
            }
            if !wants.is_empty() {
                self.request_keyframes(now, source);
            }
        }
    }

    /// Hands the frames of `source` (a publisher here, or mirrored) to
    /// `sink` from its next keyframe on. False if there is no such source.
    pub fn add_frame_sink(
        &mut self,
        now: Instant,
        source: PeerId,
        sink: Box<dyn FrameSink>,
    ) -> bool {
        if self.source_tracks(source).is_none() {
            return false;
        }
        let stream = self.streams.entry(source).or_default();
        stream.tap.get_or_insert_with(FrameTap::default).add(sink);
        self.request_keyframes(now, source);
        true
    }

    /// Forgets what this worker kept for a source that is gone here.
    pub(crate) fn end_stream(&mut self, source: PeerId) {
        self.streams.remove(&source);
    }
}
