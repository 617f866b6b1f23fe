//! Sources that give frames rather than RTP (RTMP and SRT ingest): each frame
//! packetized once into the [`Ingress`] every sink shares. Such a source
//! cannot be asked for a keyframe, so its stream keeps the whole last group
//! of pictures for new players (`stream/gop.rs`).

pub mod state;

use std::time::Instant;

use str0m::media::{MediaKind, Mid};
use tern_core::{MediaEvent, PeerId, SessionId, StreamKey};

use crate::frames::{Frame, FrameCodec, Packetizer};
use crate::rtp::packet::Ingress;
use crate::source::stats::SourceStats;
use crate::worker::Sfu;
use state::{params_for, FrameSource, Track};

impl Sfu {
    /// A frame source opens: players can be offered its tracks at once, and
    /// the session logic hears it is connected (there is no handshake).
    pub(crate) fn open_frame_source(
        &mut self,
        peer: PeerId,
        session: SessionId,
        stream: &StreamKey,
        audio: bool,
        video: bool,
    ) {
        let track = |mid: &str, codec: FrameCodec| {
            Some(Track {
                mid: Mid::from(mid),
                params: params_for(codec.to_str0m()?)?,
                packetizer: Packetizer::new(codec, 0),
            })
        };
        tracing::debug!(%peer, %session, stream = %stream, audio, video, "frame source opened");
        let source = FrameSource {
            audio: audio.then(|| track("0", FrameCodec::Opus)).flatten(),
            video: video.then(|| track("1", FrameCodec::H264)).flatten(),
            stats: SourceStats::default(),
            last_video_ticks: None,
        };
        self.frame_sources.insert(peer, source);
        self.event(MediaEvent::Connected { peer });
    }

    /// One frame of frame source `source`, to every sink of its stream.
    /// Frames of a codec the source did not open with are dropped; AAC goes
    /// to the frame sinks only (its players get the Opus made from it).
    pub fn handle_frame(&mut self, now: Instant, source: PeerId, frame: &Frame) {
        self.now = now;
        let Some(s) = self.frame_sources.get_mut(&source) else {
            return;
        };
        let track = match frame.codec {
            FrameCodec::Opus => s.audio.as_mut(),
            FrameCodec::H264 => s.video.as_mut(),
            FrameCodec::Vp8 => None,
            FrameCodec::Aac => {
                if s.audio.is_some() {
                    self.frames_to_sinks(source, frame);
                }
                return;
            }
        };
        let Some(track) = track else {
            return;
        };
        let packets = match track.packetizer.packetize(frame) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(%source, "frame not sent: {e}");
                return;
            }
        };
        let kind = if frame.codec.is_video() {
            MediaKind::Video
        } else {
            MediaKind::Audio
        };
        let codec = track.params.spec().codec;
        let mut made = Vec::with_capacity(packets.len());
        for p in &packets {
            let ingress = Ingress::from_packetized(track.mid, track.params, p, frame.arrived);
            s.stats
                .on_packet(now, kind, codec, None, p.payload.len(), ingress.info.size);
            made.push(std::sync::Arc::new(ingress.made_from_frames()));
        }
        if kind == MediaKind::Video {
            s.stats.on_frame_end(None);
            // Decode order with presentation times going back: B-frames.
            if s.last_video_ticks.is_some_and(|t| frame.ticks < t) {
                s.stats.on_b_frames();
            }
            s.last_video_ticks = Some(frame.ticks);
        }
        if let Some(info) = s.stats.poll(now) {
            self.event(MediaEvent::SourceInfo { peer: source, info });
        }
        for ingress in made {
            self.relay_media(source, &ingress);
            self.fan_out(now, source, &ingress);
        }
    }

    /// A frame that is not sent over RTP, straight to the frame sinks.
    fn frames_to_sinks(&mut self, source: PeerId, frame: &Frame) {
        let Some(stream) = self.streams.get_mut(&source) else {
            return;
        };
        if let Some(tap) = stream.tap.as_mut() {
            tap.handle_frame(std::sync::Arc::new(frame.clone()));
            if tap.is_empty() {
                stream.tap = None;
            }
        }
    }

    /// A frame source ended: its stream here and its mirrors go.
    pub(crate) fn close_frame_source(&mut self, peer: PeerId) -> bool {
        if self.frame_sources.remove(&peer).is_none() {
            return false;
        }
        self.end_stream(peer);
        self.end_relays(peer);
        true
    }
}
