//! Frame assembly for one track: RTP packets in any order, whole frames out in
//! order. Sans-IO: time comes in with each call.
//!
//! - Packets are held by extended sequence number until the frame they belong
//!   to is complete (video: up to the marker bit or a change of RTP time;
//!   Opus: every packet is a frame).
//! - A hole waits [`REORDER_WINDOW`] for a late or retransmitted packet, then
//!   counts as loss. A video frame with a lost packet is dropped, and so is
//!   everything after it until the next keyframe: a decoder cannot use frames
//!   that refer to a frame it never got. [`Assembler::take_keyframe_request`]
//!   says when one should be asked for.
//! - Payloads are taken apart with str0m's depacketizers (VP8 descriptor,
//!   H.264 single NAL / STAP-A / FU-A into Annex B).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::CodecExtra;
use str0m::unversioned::{Depacketizer, H264Depacketizer, Vp8Depacketizer};

use super::{Frame, FrameCodec};
use crate::rtp::packet_info::inspect;

/// How long a hole waits for its packet (reordered, or retransmitted after a
/// NACK: a round trip or two) before it counts as lost.
pub const REORDER_WINDOW: Duration = Duration::from_millis(150);
/// Packets held at most; past this the oldest hole counts as lost at once, so
/// a source that never fills a hole cannot grow the buffer.
const MAX_HELD: usize = 1024;

#[derive(Debug)]
struct Held {
    ticks: u64,
    marker: bool,
    payload: Arc<[u8]>,
    at: Instant,
}

/// What happened to the packets given so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerStats {
    pub frames: u64,
    /// Frames given up: incomplete, undecodable, or waiting for a keyframe.
    pub dropped_frames: u64,
    /// Sequence numbers never received.
    pub lost_packets: u64,
    /// Packets that came after their place was passed, or twice.
    pub late_packets: u64,
}

#[derive(Debug)]
pub struct Assembler {
    codec: FrameCodec,
    held: BTreeMap<u64, Held>,
    /// Every sequence number before this is emitted or given up on (unset
    /// until the first frame).
    next: Option<u64>,
    /// Nothing was lost right before `next`: a frame starting there is whole.
    clean: bool,
    /// Video: frames are dropped until a keyframe.
    need_keyframe: bool,
    /// A keyframe request is due (taken by the caller).
    ask_keyframe: bool,
    /// When the hole that blocks assembly counts as lost.
    gap_deadline: Option<Instant>,
    out: VecDeque<Frame>,
    stats: AssemblerStats,
}

impl Assembler {
    pub fn new(codec: FrameCodec) -> Self {
        Assembler {
            codec,
            held: BTreeMap::new(),
            next: None,
            clean: false,
            need_keyframe: codec.is_video(),
            ask_keyframe: codec.is_video(),
            gap_deadline: None,
            out: VecDeque::new(),
            stats: AssemblerStats::default(),
        }
    }

    pub fn codec(&self) -> FrameCodec {
        self.codec
    }

    pub fn stats(&self) -> AssemblerStats {
        self.stats
    }

    /// One packet: `seq` and `ticks` extended (as str0m gives them).
    pub fn handle_packet(
        &mut self,
        now: Instant,
        seq: u64,
        ticks: u64,
        marker: bool,
        payload: Arc<[u8]>,
    ) {
        if self.next.is_some_and(|n| seq < n) || self.held.contains_key(&seq) {
            self.stats.late_packets += 1;
            return;
        }
        let held = Held {
            ticks,
            marker,
            payload,
            at: now,
        };
        self.held.insert(seq, held);
        self.assemble(now);
    }

    /// Time has passed: holes past their window count as lost.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.gap_deadline.is_some_and(|t| t <= now) {
            self.assemble(now);
        }
    }

    /// When [`Assembler::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.gap_deadline
    }

    pub fn poll_frame(&mut self) -> Option<Frame> {
        self.out.pop_front()
    }

    /// True once each time the track starts waiting for a keyframe.
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.ask_keyframe)
    }

    /// From now on frames are dropped until a keyframe (a sink that missed
    /// frames starts again from one).
    pub fn wait_for_keyframe(&mut self) {
        if self.codec.is_video() && !self.need_keyframe {
            self.need_keyframe = true;
            self.ask_keyframe = true;
        }
    }

    fn assemble(&mut self, now: Instant) {
        self.gap_deadline = None;
        while let Some(first) = self.held.keys().next().copied() {
            // Until the first frame is out, an earlier packet may still come.
            let next = self.next.unwrap_or(first);
            if first > next {
                // A hole before the next frame.
                if !self.hole_expired(now, first) {
                    return;
                }
                self.lose(first - next);
                self.next = Some(first);
                continue;
            }
            match self.frame_end(first) {
                End::Whole(last) => self.emit(first, last),
                End::Hole(missing) => {
                    let after = self.held.range(missing..).next().map(|(s, _)| *s);
                    let Some(after) = after else {
                        return;
                    };
                    if !self.hole_expired(now, after) {
                        return;
                    }
                    // The frame lost a packet: drop what came of it.
                    let broken: Vec<u64> =
                        self.held.range(first..missing).map(|(s, _)| *s).collect();
                    for s in broken {
                        self.held.remove(&s);
                    }
                    self.stats.dropped_frames += 1;
                    self.lose(after - missing);
                    self.next = Some(after);
                }
                End::Open => return,
            }
        }
    }

    /// A hole ending before `after` (held) counts as lost once `after` waited
    /// its window, or when too much is held. Otherwise files the deadline.
    fn hole_expired(&mut self, now: Instant, after: u64) -> bool {
        let Some(held) = self.held.get(&after) else {
            return false;
        };
        let deadline = held.at + REORDER_WINDOW;
        if deadline <= now || self.held.len() > MAX_HELD {
            return true;
        }
        self.gap_deadline = Some(deadline);
        false
    }

    fn lose(&mut self, packets: u64) {
        self.stats.lost_packets += packets;
        self.clean = false;
        self.wait_for_keyframe();
    }

    /// Where the frame starting at `first` (held) ends.
    fn frame_end(&self, first: u64) -> End {
        let Some(start) = self.held.get(&first) else {
            return End::Open;
        };
        if !self.codec.is_video() {
            return End::Whole(first);
        }
        let mut seq = first;
        let mut held = start;
        loop {
            if held.marker {
                return End::Whole(seq);
            }
            match self.held.get(&(seq + 1)) {
                // A new RTP time without a marker: the sender left it out.
                Some(n) if n.ticks != start.ticks => return End::Whole(seq),
                Some(n) => {
                    seq += 1;
                    held = n;
                }
                None if self.held.range(seq + 1..).next().is_some() => return End::Hole(seq + 1),
                None => return End::Open,
            }
        }
    }

    fn emit(&mut self, first: u64, last: u64) {
        let packets: Vec<Held> = (first..=last)
            .filter_map(|s| self.held.remove(&s))
            .collect();
        self.next = Some(last + 1);
        let whole_start = std::mem::replace(&mut self.clean, true);
        let Some(head) = packets.first() else {
            return;
        };
        if !whole_start && !starts_frame(self.codec, &head.payload) {
            // Its first packets were lost before it.
            self.stats.dropped_frames += 1;
            self.wait_for_keyframe();
            return;
        }
        let keyframe = self.codec.is_video()
            && packets.iter().any(|p| {
                self.codec
                    .to_str0m()
                    .is_some_and(|c| inspect(c, &p.payload).keyframe)
            });
        if self.need_keyframe && !keyframe {
            self.stats.dropped_frames += 1;
            return;
        }
        let Some(data) = depacketize(self.codec, &packets) else {
            self.stats.dropped_frames += 1;
            // Ask again even if a keyframe was already awaited: this one was bad.
            self.need_keyframe = false;
            self.wait_for_keyframe();
            return;
        };
        if keyframe {
            self.need_keyframe = false;
        }
        self.stats.frames += 1;
        let arrived = packets.iter().map(|p| p.at).max().unwrap_or(head.at);
        self.out.push_back(Frame {
            codec: self.codec,
            ticks: head.ticks,
            keyframe,
            arrived,
            data: data.into(),
        });
    }
}

enum End {
    /// The frame is complete at this sequence number.
    Whole(u64),
    /// This sequence number is missing inside the frame; later ones are held.
    Hole(u64),
    /// Its end has not arrived yet.
    Open,
}

/// Whether a payload is the first of a frame (after a loss, a frame that
/// does not start with one lost its head).
fn starts_frame(codec: FrameCodec, payload: &[u8]) -> bool {
    match codec {
        FrameCodec::Opus | FrameCodec::Aac => true,
        // S bit set, partition index 0 (RFC 7741 §4.2).
        FrameCodec::Vp8 => payload
            .first()
            .is_some_and(|b| b & 0x10 != 0 && b & 0x07 == 0),
        // Anything but the middle or end of a fragmented unit (RFC 6184 §5.8).
        FrameCodec::H264 => match payload {
            [h, fu, ..] if h & 0x1f == 28 => fu & 0x80 != 0,
            [_, ..] => true,
            [] => false,
        },
    }
}

fn depacketize(codec: FrameCodec, packets: &[Held]) -> Option<Vec<u8>> {
    let size: usize = packets.iter().map(|p| p.payload.len()).sum();
    if !codec.is_video() {
        return packets.first().map(|p| p.payload.to_vec());
    }
    let mut out = Vec::with_capacity(size + 16);
    let mut extra = CodecExtra::None;
    let mut vp8 = Vp8Depacketizer::default();
    let mut h264 = H264Depacketizer::default();
    for p in packets {
        let done = match codec {
            FrameCodec::Vp8 => vp8.depacketize(&p.payload, &mut out, &mut extra),
            _ => h264.depacketize(&p.payload, &mut out, &mut extra),
        };
        if let Err(e) = done {
            tracing::debug!(?codec, "frame not depacketized: {e}");
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}
