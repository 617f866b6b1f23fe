//! The counting subscriber against a publisher peer directly, no server: it
//! connects, counts every packet, finds no gaps, and the samples it decrypts
//! are intact and give a delay.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::MediaKind;
use tern_load::counter::{Counters, Subscriber};
use tern_load::payload;
use tern_load::peer::{ClientPeer, PeerCmd};
use tern_load::synth::now_micros;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn a_subscriber_counts_everything_and_checks_a_sample() {
    let mut publisher = ClientPeer::new(LOCAL).await.unwrap();
    let offer = publisher.publish_offer("s", true, true, false);
    let mut sub = Subscriber::new(LOCAL).await.unwrap();
    let answer = sub.accept_offer(&offer).unwrap();
    publisher.accept_answer(&answer).unwrap();
    let handle = publisher.spawn();

    let counters = Arc::new(Counters::default());
    let recording = Arc::new(AtomicBool::new(true));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let task = sub.spawn(Instant::now(), 4, counters.clone(), recording, stop);

    // 3000-byte frames: three packets each, so samples land inside frames too.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seq = 0;
    while counters.intact.load(Ordering::Relaxed) < 20 && Instant::now() < deadline {
        seq += 1;
        for (kind, len) in [(MediaKind::Video, 3000), (MediaKind::Audio, 100)] {
            let data = payload::frame(seq, now_micros(), len);
            handle
                .cmd
                .send(PeerCmd::Frame { kind, data })
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_tx.send(true).unwrap();
    task.await.unwrap().unwrap();

    let packets = counters.packets.load(Ordering::Relaxed);
    assert!(
        counters.intact.load(Ordering::Relaxed) >= 20,
        "samples checked"
    );
    assert_eq!(counters.corrupt.load(Ordering::Relaxed), 0);
    assert!(counters.join_us.load(Ordering::Relaxed) > 0);
    assert!(counters.connected_us.load(Ordering::Relaxed) > 0);
    // Every packet sent on the main SSRCs arrived, and there were no gaps.
    let sent = handle.sent_rtp.load(Ordering::Relaxed);
    assert!(packets > 0 && packets <= sent, "{packets} of {sent}");
    assert_eq!(counters.expected.load(Ordering::Relaxed), packets);
    let delays = counters.delays.lock().unwrap();
    assert!(!delays.is_empty() && delays.iter().all(|d| *d < 1_000_000));
}
