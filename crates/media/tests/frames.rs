//! Frame assembly, sans-IO: frames packetized with str0m's packetizers (as a
//! frame source does), the packets reordered, lost or repeated, and the
//! assembler must give back exactly the frames a decoder can use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_media::frames::{Assembler, Frame, FrameCodec, Packetized, Packetizer, REORDER_WINDOW};

/// One recorded frame: ms since the first, rid, RTP ticks, keyframe, bytes.
struct Recorded {
    ms: f64,
    rid: String,
    ticks: u64,
    keyframe: bool,
    bytes: usize,
}

/// The Chromium simulcast recording (see the fixture's header).
fn fixture() -> Vec<Recorded> {
    include_str!("fixtures/chrome_simulcast_frames.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Recorded {
                ms: f[0].parse().unwrap(),
                rid: f[1].to_owned(),
                ticks: f[2].parse().unwrap(),
                keyframe: f[3] == "1",
                bytes: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// A VP8 frame of `bytes` whose frame tag says key or inter (RFC 6386 §9.1),
/// with a keyframe's start code and size, the rest a pattern of `seed`.
fn vp8_frame(keyframe: bool, bytes: usize, seed: u64) -> Vec<u8> {
    let mut d: Vec<u8> = (0..bytes.max(10))
        .map(|i| (seed as usize * 31 + i * 7) as u8)
        .collect();
    d[0] = if keyframe { 0x10 } else { 0x11 };
    if keyframe {
        d[3..10].copy_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
    }
    d
}

/// The top layer of the recording as VP8 frames, with arrival times.
fn vp8_frames(t0: Instant) -> Vec<(Instant, Frame)> {
    fixture()
        .into_iter()
        .filter(|r| r.rid == "f")
        .map(|r| {
            let at = t0 + Duration::from_micros((r.ms * 1000.0) as u64);
            let frame = Frame {
                codec: FrameCodec::Vp8,
                ticks: r.ticks,
                keyframe: r.keyframe,
                arrived: at,
                data: vp8_frame(r.keyframe, r.bytes, r.ticks).into(),
            };
            (at, frame)
        })
        .collect()
}

/// Each packet with the instant it arrives: its frame's.
fn packetize(codec: FrameCodec, frames: &[(Instant, Frame)]) -> Vec<(Instant, Packetized)> {
    let mut p = Packetizer::new(codec, 1_000);
    frames
        .iter()
        .flat_map(|(at, f)| p.packetize(f).unwrap().into_iter().map(move |pk| (*at, pk)))
        .collect()
}

fn feed(a: &mut Assembler, packets: &[(Instant, Packetized)]) -> Vec<Frame> {
    let mut out = Vec::new();
    for (at, p) in packets {
        a.handle_packet(*at, p.seq, p.ticks, p.marker, Arc::clone(&p.payload));
        out.extend(std::iter::from_fn(|| a.poll_frame()));
    }
    out
}

/// Frames compared by what a decoder sees.
fn same(a: &[Frame], b: &[&Frame]) {
    assert_eq!(a.len(), b.len(), "frame count");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (x.ticks, x.keyframe, &x.data),
            (y.ticks, y.keyframe, &y.data)
        );
    }
}

#[test]
fn vp8_frames_of_the_recording_come_back_whole_in_order() {
    let t0 = Instant::now();
    let frames = vp8_frames(t0);
    let packets = packetize(FrameCodec::Vp8, &frames);
    assert!(packets.len() > frames.len(), "large frames span packets");
    let mut a = Assembler::new(FrameCodec::Vp8);
    let out = feed(&mut a, &packets);
    // The recording starts on a keyframe, so every frame is usable.
    assert!(frames[0].1.keyframe);
    same(&out, &frames.iter().map(|(_, f)| f).collect::<Vec<_>>());
    assert_eq!(a.stats().lost_packets, 0);
    assert_eq!(a.stats().dropped_frames, 0);
}

#[test]
fn reordered_and_repeated_packets_give_the_same_frames() {
    let t0 = Instant::now();
    let frames = vp8_frames(t0);
    let mut packets = packetize(FrameCodec::Vp8, &frames);
    // Swap neighbours and send every tenth packet twice.
    for i in (0..packets.len() - 1).step_by(3) {
        packets.swap(i, i + 1);
    }
    let mut doubled = Vec::new();
    for (i, p) in packets.into_iter().enumerate() {
        if i % 10 == 0 {
            doubled.push(p.clone());
        }
        doubled.push(p);
    }
    let mut a = Assembler::new(FrameCodec::Vp8);
    let out = feed(&mut a, &doubled);
    same(&out, &frames.iter().map(|(_, f)| f).collect::<Vec<_>>());
    assert!(a.stats().late_packets > 0);
    assert_eq!(a.stats().lost_packets, 0);
}

#[test]
fn a_lost_packet_drops_frames_until_the_next_keyframe_and_asks_for_one() {
    let t0 = Instant::now();
    let frames = vp8_frames(t0);
    let packets = packetize(FrameCodec::Vp8, &frames);
    // Lose one packet of the tenth frame (an inter frame).
    let victim = &frames[10].1;
    assert!(!victim.keyframe);
    let lost = packets
        .iter()
        .position(|(_, p)| p.ticks == victim.ticks)
        .unwrap();
    let mut a = Assembler::new(FrameCodec::Vp8);
    assert!(
        a.take_keyframe_request(),
        "a new assembler waits for a keyframe"
    );
    let kept: Vec<_> = packets
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != lost)
        .map(|(_, p)| p.clone())
        .collect();
    let out = feed(&mut a, &kept);
    let next_key = frames
        .iter()
        .skip(11)
        .position(|(_, f)| f.keyframe)
        .map(|i| i + 11)
        .expect("a later keyframe");
    let expected: Vec<&Frame> = frames[..10]
        .iter()
        .chain(&frames[next_key..])
        .map(|(_, f)| f)
        .collect();
    same(&out, &expected);
    assert!(a.take_keyframe_request(), "the loss asks for a keyframe");
    assert!(!a.take_keyframe_request(), "once");
    assert_eq!(a.stats().lost_packets, 1);
}

#[test]
fn a_hole_waits_for_its_late_packet_within_the_window_and_not_beyond() {
    let t0 = Instant::now();
    let frames = vp8_frames(t0);
    // The first frame, a keyframe, in four packets; the second comes late.
    let packets = packetize(FrameCodec::Vp8, &frames[..1]);
    assert_eq!(packets.len(), 4);
    let at = packets[0].0;
    let give = |a: &mut Assembler, i: usize, now: Instant| {
        let p = &packets[i].1;
        a.handle_timeout(now);
        a.handle_packet(now, p.seq, p.ticks, p.marker, Arc::clone(&p.payload));
    };
    let mut a = Assembler::new(FrameCodec::Vp8);
    for i in [0, 2, 3] {
        give(&mut a, i, at);
    }
    assert!(a.poll_frame().is_none(), "the frame waits for its hole");
    give(&mut a, 1, at + REORDER_WINDOW - Duration::from_millis(1));
    let out: Vec<Frame> = std::iter::from_fn(|| a.poll_frame()).collect();
    same(&out, &[&frames[0].1]);

    // The same hole, with time running past the window: the frame is lost.
    let mut a = Assembler::new(FrameCodec::Vp8);
    for i in [0, 2, 3] {
        give(&mut a, i, at);
    }
    let deadline = a.poll_timeout().expect("a hole files a deadline");
    assert_eq!(deadline, at + REORDER_WINDOW);
    a.handle_timeout(deadline);
    assert!(a.poll_frame().is_none(), "nothing of the broken keyframe");
    assert_eq!(a.stats().lost_packets, 1);
    // Too late now: counted, not used.
    give(&mut a, 1, deadline);
    assert!(a.poll_frame().is_none());
    assert_eq!(a.stats().late_packets, 1);
}

#[test]
fn joining_mid_stream_waits_for_a_keyframe() {
    let t0 = Instant::now();
    let frames = vp8_frames(t0);
    let packets = packetize(FrameCodec::Vp8, &frames);
    // Start in the middle of the fifth frame.
    let start = packets
        .iter()
        .position(|(_, p)| p.ticks == frames[5].1.ticks)
        .unwrap()
        + 1;
    let mut a = Assembler::new(FrameCodec::Vp8);
    let out = feed(&mut a, &packets[start..]);
    let first_key = frames.iter().skip(6).position(|(_, f)| f.keyframe).unwrap() + 6;
    same(
        &out,
        &frames[first_key..]
            .iter()
            .map(|(_, f)| f)
            .collect::<Vec<_>>(),
    );
}

/// An Annex B access unit from NAL units.
fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
    nals.iter()
        .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
        .collect()
}

fn nal(header: u8, len: usize, seed: u8) -> Vec<u8> {
    // No zero bytes in the body: no start code can appear in it.
    std::iter::once(header)
        .chain((1..len).map(|i| (i as u8).wrapping_mul(seed) | 1))
        .collect()
}

#[test]
fn h264_single_nal_stap_a_and_fu_a_frames_come_back_as_sent() {
    let t0 = Instant::now();
    let sps = vec![0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xf6, 0x40];
    let pps = vec![0x68, 0xce, 0x06, 0xe2];
    let frames: Vec<(Instant, Frame)> = (0..30u64)
        .map(|i| {
            let key = i % 10 == 0;
            let nals = if key {
                // SPS and PPS go in a STAP-A, the big IDR slice in FU-As.
                vec![sps.clone(), pps.clone(), nal(0x65, 5000, 3)]
            } else {
                // A small slice: a single NAL unit packet.
                vec![nal(0x41, 300 + i as usize, 5)]
            };
            let at = t0 + Duration::from_millis(33 * i);
            let frame = Frame {
                codec: FrameCodec::H264,
                ticks: 3000 * i,
                keyframe: key,
                arrived: at,
                data: annex_b(&nals).into(),
            };
            (at, frame)
        })
        .collect();
    let packets = packetize(FrameCodec::H264, &frames);
    let kinds: Vec<u8> = packets.iter().map(|(_, p)| p.payload[0] & 0x1f).collect();
    assert!(kinds.contains(&24), "STAP-A used");
    assert!(kinds.contains(&28), "FU-A used");
    assert!(kinds.contains(&1), "single NAL units used");
    let mut a = Assembler::new(FrameCodec::H264);
    let out = feed(&mut a, &packets);
    same(&out, &frames.iter().map(|(_, f)| f).collect::<Vec<_>>());

    // The first FU-A of the second keyframe lost: nothing until the third.
    let second_key = frames[10].1.ticks;
    let lost = packets
        .iter()
        .position(|(_, p)| p.ticks == second_key && p.payload[0] & 0x1f == 28)
        .unwrap();
    let mut kept = packets.clone();
    kept.remove(lost);
    let mut a = Assembler::new(FrameCodec::H264);
    let out = feed(&mut a, &kept);
    let expected: Vec<&Frame> = frames[..10]
        .iter()
        .chain(&frames[20..])
        .map(|(_, f)| f)
        .collect();
    same(&out, &expected);
}

#[test]
fn opus_packets_are_frames_and_a_loss_costs_only_itself() {
    let t0 = Instant::now();
    let frames: Vec<(Instant, Frame)> = (0..50u64)
        .map(|i| {
            let at = t0 + Duration::from_millis(20 * i);
            let data: Vec<u8> = (0..80).map(|b| (b + i) as u8).collect();
            let f = Frame {
                codec: FrameCodec::Opus,
                ticks: 960 * i,
                keyframe: false,
                arrived: at,
                data: data.into(),
            };
            (at, f)
        })
        .collect();
    let mut packets = packetize(FrameCodec::Opus, &frames);
    assert_eq!(packets.len(), frames.len());
    packets.remove(7);
    packets.swap(20, 21);
    let mut a = Assembler::new(FrameCodec::Opus);
    assert!(!a.take_keyframe_request());
    let mut out = feed(&mut a, &packets);
    let end = frames.last().unwrap().0 + REORDER_WINDOW;
    a.handle_timeout(end);
    out.extend(std::iter::from_fn(|| a.poll_frame()));
    let expected: Vec<&Frame> = frames
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(_, (_, f))| f)
        .collect();
    same(&out, &expected);
    assert_eq!(a.stats().lost_packets, 1);
    assert!(!a.take_keyframe_request());
}

#[test]
fn garbage_payloads_never_panic_and_give_no_frames() {
    let t0 = Instant::now();
    for codec in [FrameCodec::Vp8, FrameCodec::H264, FrameCodec::Opus] {
        let mut a = Assembler::new(codec);
        let payloads: [&[u8]; 6] = [
            &[],
            &[0x80],
            &[0x90, 0x80],
            &[28],
            &[24, 0, 200, 1],
            &[0xff; 3],
        ];
        for (i, p) in payloads.iter().enumerate() {
            a.handle_packet(t0, i as u64, 0, true, Arc::from(*p));
        }
        a.handle_timeout(t0 + REORDER_WINDOW);
        let out: Vec<Frame> = std::iter::from_fn(|| a.poll_frame()).collect();
        if codec.is_video() {
            assert!(out.iter().all(|f| f.keyframe), "{codec:?}: {out:?}");
        }
    }
}

#[test]
fn a_frame_of_another_codec_is_refused_by_the_packetizer() {
    let mut p = Packetizer::new(FrameCodec::Opus, 0);
    let f = Frame {
        codec: FrameCodec::Vp8,
        ticks: 0,
        keyframe: true,
        arrived: Instant::now(),
        data: vec![1, 2, 3].into(),
    };
    assert!(p.packetize(&f).is_err());
    let empty = Frame {
        codec: FrameCodec::Opus,
        data: Vec::new().into(),
        ..f
    };
    assert!(p.packetize(&empty).is_err());
}
