//! A stream's frame sinks: its packets assembled into frames once, whatever
//! the number of sinks, and each frame offered to every sink.
//!
//! Simulcast sources give their top layer. Time moves on with the source's
//! own packets (audio comes every 20 ms), so a hole is judged with the next
//! packet after its window.

use std::sync::Arc;
use std::time::Instant;

use str0m::media::{Mid, Rid};

use crate::frames::{Assembler, Frame, FrameCodec};
use crate::rtp::packet::Ingress;
use crate::sink::frame_sink::{FrameSink, Offer};

#[derive(Default)]
pub struct FrameTap {
    tracks: Vec<TapTrack>,
    sinks: Vec<Slot>,
    keyframe_request: bool,
}

struct TapTrack {
    mid: Mid,
    rid: Option<Rid>,
    assembler: Assembler,
}

struct Slot {
    sink: Box<dyn FrameSink>,
    /// It missed video frames (or just came): video from the next keyframe.
    needs_keyframe: bool,
    dropped: u64,
}

impl FrameTap {
    pub fn add(&mut self, sink: Box<dyn FrameSink>) {
        self.sinks.push(Slot {
            sink,
            needs_keyframe: true,
            dropped: 0,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// True once after a sink or a track started waiting for a keyframe.
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_request)
    }

    pub fn handle_packet(&mut self, now: Instant, ingress: &Ingress) {
        let Some(codec) = FrameCodec::from_str0m(ingress.params.spec().codec) else {
            return;
        };
        // Simulcast: the top layer (last, as the source lists them).
        let rid = match ingress.rid {
            Some(_) => ingress.layers.last().map(|(r, _)| *r),
            None => None,
        };
        if ingress.rid != rid {
            return;
        }
        let at = match self.tracks.iter().position(|t| t.mid == ingress.mid) {
            Some(i) => i,
            None => {
                self.tracks.push(TapTrack {
                    mid: ingress.mid,
                    rid,
                    assembler: Assembler::new(codec),
                });
                self.tracks.len() - 1
            }
        };
        let track = &mut self.tracks[at];
        if track.rid != rid || track.assembler.codec() != codec {
            // A new top layer or codec: its own numbering, from a keyframe.
            track.rid = rid;
            track.assembler = Assembler::new(codec);
        }
        track.assembler.handle_timeout(now);
        // Stamped with its arrival, not with when it is handled: a frame
        // source's audio is handled tens of ms after its media clock says it
        // arrived (the AAC → Opus chain holds it), and the recorder lines the
        // tracks up by arrival.
        track.assembler.handle_packet(
            ingress.arrived,
            ingress.seq,
            ingress.ticks,
            ingress.marker,
            Arc::clone(&ingress.payload),
        );
        if track.assembler.take_keyframe_request() {
            self.keyframe_request = true;
        }
        while let Some(frame) = self.tracks[at].assembler.poll_frame() {
            self.deliver(Arc::new(frame));
        }
    }

    /// A frame that never was RTP (a frame source's AAC), as it is.
    pub fn handle_frame(&mut self, frame: Arc<Frame>) {
        self.deliver(frame);
    }

    fn deliver(&mut self, frame: Arc<Frame>) {
        let video = frame.codec.is_video();
        let mut request = false;
        self.sinks.retain_mut(|slot| {
            if video && slot.needs_keyframe {
                if !frame.keyframe {
                    return true;
                }
                slot.needs_keyframe = false;
            }
            match slot.sink.offer(&frame) {
                Offer::Taken => {
                    request |= slot.sink.wants_keyframe();
                    true
                }
                Offer::Full => {
                    slot.dropped += 1;
                    if video {
                        slot.needs_keyframe = true;
                        request = true;
                    }
                    true
                }
                Offer::Gone => false,
            }
        });
        self.keyframe_request |= request;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{sync_channel, Receiver};
    use std::time::Duration;

    use str0m::format::{Codec, CodecSpec, FormatParams, PayloadParams};
    use str0m::media::{Frequency, Pt};

    use super::*;
    use crate::frames::Packetizer;

    fn params(codec: Codec, pt: u8) -> PayloadParams {
        let clock_rate = match codec {
            Codec::Opus => Frequency::FORTY_EIGHT_KHZ,
            _ => Frequency::NINETY_KHZ,
        };
        let spec = CodecSpec {
            codec,
            clock_rate,
            channels: None,
            format: FormatParams::default(),
        };
        PayloadParams::new(Pt::new_with_value(pt), None, spec)
    }

    /// 1 s of a source: Opus every 20 ms, VP8 every 33 ms with a keyframe
    /// every 10 frames, as packets in arrival order.
    fn source(t0: Instant) -> Vec<Ingress> {
        let (audio, video) = (Mid::from("0"), Mid::from("1"));
        let (opus, vp8) = (params(Codec::Opus, 111), params(Codec::Vp8, 96));
        let mut pa = Packetizer::new(FrameCodec::Opus, 0);
        let mut pv = Packetizer::new(FrameCodec::Vp8, 500);
        let mut out = Vec::new();
        for ms in 0..1000u64 {
            let at = t0 + Duration::from_millis(ms);
            if ms % 20 == 0 {
                let f = frame(FrameCodec::Opus, ms * 48, false, vec![7; 60], at);
                for p in pa.packetize(&f).unwrap() {
                    out.push(Ingress::from_packetized(audio, opus, &p, at));
                }
            }
            if ms % 33 == 0 {
                let n = ms / 33;
                let key = n % 10 == 0;
                let mut data = vec![(n as u8) | 1; 2500];
                data[0] = if key { 0x10 } else { 0x11 };
                let f = frame(FrameCodec::Vp8, ms * 90, key, data, at);
                for p in pv.packetize(&f).unwrap() {
                    out.push(Ingress::from_packetized(video, vp8, &p, at));
                }
            }
        }
        out
    }

    fn frame(codec: FrameCodec, ticks: u64, keyframe: bool, data: Vec<u8>, at: Instant) -> Frame {
        Frame {
            codec,
            ticks,
            keyframe,
            arrived: at,
            data: data.into(),
        }
    }

    fn taken(rx: &Receiver<Arc<Frame>>) -> Vec<Arc<Frame>> {
        rx.try_iter().collect()
    }

    #[test]
    fn a_slow_sink_and_a_gone_one_cost_the_fast_sink_nothing() {
        let t0 = Instant::now();
        let packets = source(t0);
        let mut tap = FrameTap::default();
        let (fast, fast_rx) = sync_channel(10_000);
        let (slow, slow_rx) = sync_channel(3);
        let (gone, gone_rx) = sync_channel(10_000);
        drop(gone_rx);
        tap.add(Box::new(fast));
        tap.add(Box::new(slow));
        tap.add(Box::new(gone));
        assert!(!tap.take_keyframe_request());
        // The first half second, then the second: frames stay whole.
        let half = packets
            .iter()
            .position(|p| p.arrived >= t0 + Duration::from_millis(500))
            .unwrap();
        for p in &packets[..half] {
            tap.handle_packet(p.arrived, p);
        }
        // The fast sink got every frame so far: 25 Opus, 16 VP8.
        let got = taken(&fast_rx);
        let video = got.iter().filter(|f| f.codec.is_video()).count();
        assert_eq!((got.len() - video, video), (25, 16));
        assert!(got.iter().find(|f| f.codec.is_video()).unwrap().keyframe);
        // The slow one took three, then lost frames and asked for a keyframe;
        // the gone one is no longer offered anything.
        assert_eq!(taken(&slow_rx).len(), 3);
        assert!(tap.take_keyframe_request());
        assert_eq!(tap.sinks.len(), 2);
        // The slow sink catches up: its next video frame is a keyframe, and
        // it is never again offered more than it takes.
        let mut restarted = false;
        for p in &packets[half..] {
            tap.handle_packet(p.arrived, p);
            for f in taken(&slow_rx).iter().filter(|f| f.codec.is_video()) {
                assert!(restarted || f.keyframe, "a sink restarts on a keyframe");
                restarted = true;
            }
        }
        assert!(restarted);
        let got = taken(&fast_rx);
        let video = got.iter().filter(|f| f.codec.is_video()).count();
        assert_eq!((got.len() - video, video), (25, 15));
    }

    /// A sink that asks for a keyframe after each frame it takes.
    struct Eager(std::sync::mpsc::SyncSender<Arc<Frame>>);

    impl FrameSink for Eager {
        fn offer(&mut self, frame: &Arc<Frame>) -> Offer {
            self.0.offer(frame)
        }
        fn wants_keyframe(&mut self) -> bool {
            true
        }
    }

    #[test]
    fn a_sink_that_wants_a_keyframe_makes_the_tap_ask_for_one() {
        let t0 = Instant::now();
        let packets = source(t0);
        let mut tap = FrameTap::default();
        let (tx, rx) = sync_channel(10_000);
        tap.add(Box::new(Eager(tx)));
        let _ = tap.take_keyframe_request();
        let mut asked = 0;
        for p in &packets {
            tap.handle_packet(p.arrived, p);
            asked += usize::from(tap.take_keyframe_request());
        }
        assert!(!taken(&rx).is_empty());
        assert!(asked > 10, "asked {asked} times");
    }

    #[test]
    fn frames_keep_their_packets_arrival_however_late_they_are_handled() {
        let t0 = Instant::now();
        let packets = source(t0);
        let mut tap = FrameTap::default();
        let (tx, rx) = sync_channel(10_000);
        tap.add(Box::new(tx));
        for p in &packets {
            tap.handle_packet(p.arrived + Duration::from_millis(40), p);
        }
        // Opus: one packet a frame, every 20 ms from t0.
        let audio: Vec<Instant> = taken(&rx)
            .iter()
            .filter(|f| !f.codec.is_video())
            .map(|f| f.arrived)
            .collect();
        let sent: Vec<Instant> = (0..50)
            .map(|i| t0 + Duration::from_millis(i * 20))
            .collect();
        assert_eq!(audio, sent);
    }
}
