//! Players' media sealed by Tern itself (`src/egress/`), against str0m
//! players on an in-memory network: the packets open, sender reports come
//! for every stream, and a lost packet is sent again when the player's NACK
//! asks for it.

#[path = "../benches/forward_room.rs"]
mod forward_room;

use std::time::Duration;

use forward_room::Room;
use str0m::rtp::rtcp::Rtcp;
use str0m::rtp::RawPacket;

/// A sender report as a player got it: SSRC, packet count, its RTP time,
/// and the RTP time of the last packet the player had got before it.
type Report = (u32, u32, u32, u32);

/// (sequence numbers of RTP received, sender reports received, NACKs sent)
/// by one player.
fn seen(raw: &[RawPacket]) -> (Vec<u16>, Vec<Report>, usize) {
    let (mut rtp, mut srs, mut nacks) = (Vec::new(), Vec::new(), 0);
    let mut last_ts = 0;
    for p in raw {
        match p {
            RawPacket::RtpRx(h, _) => {
                rtp.push(h.sequence_number);
                last_ts = h.timestamp;
            }
            RawPacket::RtcpRx(Rtcp::SenderReport(sr)) => {
                let i = &sr.sender_info;
                let rtp_time = i.rtp_time.numer() as u32;
                srs.push((*i.ssrc, i.sender_packet_count, rtp_time, last_ts));
            }
            RawPacket::RtcpTx(Rtcp::Nack(_)) => nacks += 1,
            _ => {}
        }
    }
    (rtp, srs, nacks)
}

/// Three players on the direct path, 50 packets in.
fn connected_room() -> Room {
    let mut room = Room::with(3, true, true, true);
    for _ in 0..50 {
        room.step(3, |_| {});
    }
    room
}

#[test]
fn players_get_sealed_media_reports_and_retransmissions() {
    let mut room = connected_room();
    room.run_for(Duration::from_millis(1_500));
    let victim = room.players().next().unwrap().addr();
    let last = {
        let (rtp, ..) = seen(room.player_mut(victim).unwrap().raw.as_ref().unwrap());
        *rtp.last().expect("the player got RTP")
    };
    // The packet after next is lost on the way to one player.
    let lost = last.wrapping_add(2);
    room.drop_once = Some((victim, lost));
    for _ in 0..20 {
        room.step(3, |_| {});
    }
    room.run_for(Duration::from_millis(1_500));
    assert!(room.drop_once.is_none(), "the packet was dropped");
    for p in room.players() {
        let (rtp, srs, nacks) = seen(p.raw.as_ref().unwrap());
        assert!(rtp.len() >= 70, "{}: {} packets", p.addr(), rtp.len());
        // One video stream with reports whose counts follow what was sent.
        assert!(srs.len() >= 2, "{}: reports {srs:?}", p.addr());
        let (ssrc, count, ..) = *srs.last().unwrap();
        assert!(srs.iter().all(|s| s.0 == ssrc));
        assert!(count >= 70, "{}: count {count}", p.addr());
        // A report's RTP time runs on from the last packet, by at most the
        // 1.5 s the network then stood still (90 kHz).
        for &(_, _, t, last) in srs.iter().filter(|s| s.3 != 0) {
            let ahead = t.wrapping_sub(last);
            assert!(
                ahead <= 90_000 * 3 / 2 + 900,
                "report at {t}, last packet at {last}"
            );
        }
        if p.addr() == victim {
            assert!(nacks >= 1, "the player asked again");
            let got = rtp.iter().filter(|s| **s == lost).count();
            assert_eq!(got, 1, "the lost packet came once, again");
            let at = rtp.iter().position(|s| *s == lost).unwrap();
            assert!(rtp[at - 1] != lost.wrapping_sub(1), "and it came late");
        } else {
            assert_eq!(nacks, 0, "{}: no loss, no NACK", p.addr());
        }
    }
}

#[test]
fn packets_read_in_one_batch_reach_every_player_once_and_in_order() {
    let mut room = connected_room();
    room.run_for(Duration::from_millis(500));
    let before: Vec<usize> = room
        .players()
        .map(|p| seen(p.raw.as_ref().unwrap()).0.len())
        .collect();
    // Batches of 5 packets: each player gets them together.
    for _ in 0..10 {
        room.step_batch(5, 3);
    }
    room.run_for(Duration::from_millis(500));
    for (p, before) in room.players().zip(before) {
        let (rtp, _, nacks) = seen(p.raw.as_ref().unwrap());
        let batched = &rtp[before..];
        assert_eq!(batched.len(), 50, "{}: {batched:?}", p.addr());
        for w in batched.windows(2) {
            assert_eq!(w[1], w[0].wrapping_add(1), "{}: {batched:?}", p.addr());
        }
        assert_eq!(nacks, 0);
    }
}

#[test]
fn the_str0m_path_stays_when_switched_off() {
    let mut room = Room::with(2, true, false, true);
    for _ in 0..30 {
        room.step(2, |_| {});
    }
    room.run_for(Duration::from_millis(1_200));
    for p in room.players() {
        let (rtp, srs, _) = seen(p.raw.as_ref().unwrap());
        assert!(rtp.len() >= 30);
        assert!(!srs.is_empty(), "str0m's own reports");
    }
}
