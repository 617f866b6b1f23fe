//! What a broken or hostile publisher can send: configs that are refused
//! with the reason, units that are skipped, and none of it panics or stops
//! the good units after it from playing.

mod audio_support;

use audio_support::*;
use tern_ingest::audio::{AacToOpus, AudioError};

#[test]
fn malformed_configs_are_refused_with_the_reason() {
    use AudioError::*;
    let table: &[(&str, &[u8], AudioError)] = &[
        ("empty", &[], ConfigTruncated),
        ("one byte", &[0x12], ConfigTruncated),
        ("object type 0", &[0x00, 0x00], ObjectType(0)),
        ("AAC Main", &[0x0a, 0x10], ObjectType(1)),
        ("AAC LTP", &[0x22, 0x10], ObjectType(4)),
        ("all ones", &[0xff, 0xff], ConfigTruncated),
        ("all ones, long", &[0xff; 16], ObjectType(95)),
        (
            "HE-AAC over AAC Main",
            &[0x2b, 0x92, 0x04, 0x00],
            ObjectType(1),
        ),
        ("7.1: eight channels", &[0x12, 0x38], Channels(7)),
        ("5.1", &[0x12, 0x30], Channels(6)),
        ("reserved channel config", &[0x12, 0x78], Channels(15)),
        ("layout in a PCE", &[0x12, 0x00], Channels(0)),
        ("reserved rate index", &[0x17, 0x10], ReservedRateIndex(14)),
        // Index 15, then 12345 Hz (0x003039) written out.
        (
            "odd rate",
            &[0x17, 0x80, 0x18, 0x1c, 0x90],
            SampleRate(12345),
        ),
        ("rate 0", &[0x17, 0x80, 0x00, 0x00, 0x10], SampleRate(0)),
        ("explicit rate cut", &[0x17, 0x80, 0x18], ConfigTruncated),
        ("960-sample frames", &[0x12, 0x14], FrameLength960),
    ];
    for (what, config, want) in table {
        match AacToOpus::new(config) {
            Err(e) => assert_eq!(&e, want, "{what}"),
            Ok(_) => panic!("{what}: taken"),
        }
    }
}

#[test]
fn malformed_units_are_skipped_and_the_good_ones_play_on() {
    let aac = split_adts(&encode_adts(
        "sine=frequency=1000:sample_rate=44100:duration=2",
        2,
    ));
    let mono = split_adts(&encode_adts(
        "sine=frequency=1000:sample_rate=44100:duration=1",
        1,
    ));
    let good = &aac.units[40];
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one zero byte", vec![0]),
        ("0xff", vec![0xff]),
        ("first half", good[..good.len() / 2].to_vec()),
        ("first 3 bytes", good[..3].to_vec()),
        ("100 kB of zeros", vec![0; 100_000]),
        ("100 kB of 0xff", vec![0xff; 100_000]),
        ("a mono unit in a stereo track", mono.units[20].clone()),
        (
            "an ADTS header",
            vec![0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc],
        ),
        ("coupling channel element", vec![0x40, 0, 0, 0]),
        ("program config element", vec![0xa0, 0, 0, 0]),
    ];
    let mut t = AacToOpus::new(&aac.config).unwrap();
    let mut packets = Vec::new();
    let mut refused = 0;
    for (n, unit) in aac.units.iter().enumerate() {
        // A bad unit before each good one, all at the good one's time.
        let (what, junk) = &bad[n % bad.len()];
        match t.push(junk, aac.pts(0, n)) {
            Err(AudioError::EmptyUnit | AudioError::Decode(_)) => refused += 1,
            Err(e) => panic!("{what}: {e}"),
            // Some junk is valid AAC (a unit of nothing but a terminator).
            Ok(p) => packets.extend(p),
        }
        packets.extend(t.push(unit, aac.pts(0, n)).unwrap());
    }
    assert!(refused > aac.units.len() / 2, "{refused} refused");
    assert_eq!(packets[0].ticks, 0);
    assert_continuous(&packets);
    let plane = &decode_opus(&packets, 2)[0];
    let x = &plane[9600..plane.len() - 4800];
    assert!((zero_crossing_hz(x, 48_000.0) - 1000.0).abs() < 10.0);
}

/// xorshift64: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A real unit with bits flipped, bytes changed, cut or lengthened.
fn mutate(rng: &mut Rng, unit: &[u8]) -> Vec<u8> {
    let mut unit = unit.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !unit.is_empty() => {
                let i = rng.below(unit.len());
                unit[i] ^= 1 << rng.below(8);
            }
            1 if !unit.is_empty() => {
                let i = rng.below(unit.len());
                unit[i] = rng.next() as u8;
            }
            2 => unit.truncate(rng.below(unit.len() + 1)),
            3 => unit.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
            _ => {
                let n = rng.below(32);
                unit = (0..n).map(|_| rng.next() as u8).collect();
            }
        }
    }
    unit
}

#[test]
fn mutated_configs_units_and_times_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    for (rate, channels) in [(44100, 2), (16000, 1)] {
        let source = format!("sine=frequency=1000:sample_rate={rate}:duration=1");
        let aac = split_adts(&encode_adts(&source, channels));
        for _ in 0..2000 {
            let _ = AacToOpus::new(&mutate(&mut rng, &aac.config));
        }
        let mut t = AacToOpus::new(&aac.config).unwrap();
        let mut decoded = 0;
        for i in 0..3000 {
            let unit = &aac.units[rng.below(aac.units.len())];
            let pts = match rng.below(4) {
                0 => rng.next(),
                1 => u64::from(u32::MAX) - rng.below(1000) as u64,
                _ => i * 23,
            };
            if t.push(&mutate(&mut rng, unit), pts).is_ok() {
                decoded += 1;
            }
        }
        println!("{rate} Hz: {decoded} of 3000 mutated units decoded");
        // Then a clean run, far from any earlier time, still plays.
        let mut packets = Vec::new();
        for (n, unit) in aac.units.iter().enumerate() {
            packets.extend(t.push(unit, aac.pts(1 << 40, n)).unwrap());
        }
        assert_eq!(packets[0].ticks, (1 << 40) * 48);
        assert_continuous(&packets);
        let plane = &decode_opus(&packets, channels)[0];
        let x = &plane[9600..plane.len() - 2400];
        assert!((zero_crossing_hz(x, 48_000.0) - 1000.0).abs() < 10.0);
    }
}
