//! Runs one scenario: publishers first, then subscribers at the join rate,
//! a warm-up, the measuring window, and the report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use str0m::media::MediaKind;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::counter::{Counters, Subscriber};
use crate::janus::JanusClient;
use crate::payload;
use crate::peer::{ClientPeer, PeerCmd, PeerEvent, PeerHandle};
use crate::procstat;
use crate::report::{Report, Snapshot};
use crate::scenario::{Scenario, Target};
use crate::signal::Signal;
use crate::synth::now_micros;

/// What subscribers ask for: a Tern stream id or a Janus feed id.
#[derive(Debug, Clone)]
enum StreamRef {
    Tern(String),
    Janus(u64),
}

struct Sub {
    /// Index of the stream it plays.
    stream: usize,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

/// A tiny deterministic generator (xorshift64*), seeded by the scenario.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub async fn run(s: &Scenario) -> anyhow::Result<Report> {
    let (stop_tx, stop) = watch::channel(false);
    let result = run_inner(s, stop).await;
    let _ = stop_tx.send(true);
    // Let sessions say goodbye before the runtime goes away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    result
}

async fn run_inner(s: &Scenario, stop: watch::Receiver<bool>) -> anyhow::Result<Report> {
    let mut rng = Rng::new(s.seed);
    let wait = Duration::from_secs_f64(s.join_timeout);
    let mut report = Report {
        subscribers: s.publishers * s.subscribers,
        ..Report::default()
    };

    let mut streams = Vec::new();
    let mut sent = Vec::new();
    for i in 0..s.publishers {
        let name = format!("load{}x{}", s.seed, i);
        let (stream, handle) = publish(s, &name, wait, stop.clone())
            .await
            .with_context(|| format!("publisher {i}"))?;
        sent.push(handle.sent_rtp.clone());
        let phase = Duration::from_micros(rng.below(1_000_000 / u64::from(s.fps)));
        tokio::spawn(feed(s.clone(), handle, phase, stop.clone()));
        streams.push(stream);
    }
    eprintln!("tern-load: {} publishers live", streams.len());
    report.server_rss_before = s.server_pid.and_then(procstat::rss_bytes);

    // Subscribers of every stream, in a seeded order.
    let mut order: Vec<usize> = (0..s.publishers * s.subscribers)
        .map(|i| i % s.publishers)
        .collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let recording = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(Semaphore::new(s.join_concurrency));
    let mut joins = JoinSet::new();
    let began = tokio::time::Instant::now();
    for (n, which) in order.into_iter().enumerate() {
        if s.join_rate > 0.0 {
            tokio::time::sleep_until(began + Duration::from_secs_f64(n as f64 / s.join_rate)).await;
        }
        let permit = gate.clone().acquire_owned().await?;
        let (s2, stream, rec, stop2) = (
            s.clone(),
            streams[which].clone(),
            recording.clone(),
            stop.clone(),
        );
        joins.spawn(async move {
            let r = tokio::time::timeout(wait, subscribe(&s2, stream, rec, stop2)).await;
            drop(permit);
            let mut sub = r.map_err(|_| anyhow!("join took longer than {wait:?}"))??;
            sub.stream = which;
            Ok::<Sub, anyhow::Error>(sub)
        });
    }
    let mut subs = Vec::new();
    while let Some(r) = joins.join_next().await {
        match r? {
            Ok(sub) => subs.push(sub),
            Err(e) => {
                report.failed += 1;
                if report.first_errors.len() < 5 {
                    report.first_errors.push(format!("{e:#}"));
                }
            }
        }
    }
    // Wait for first media on every joined subscriber, within the join timeout.
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline
        && subs
            .iter()
            .any(|x| x.counters.join_us.load(Ordering::Relaxed) == 0 && !x.task.is_finished())
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for x in &subs {
        let us = x.counters.join_us.load(Ordering::Relaxed);
        if us == 0 {
            report.failed += 1;
        } else {
            report.joined += 1;
            report.join_ms.push(us as f64 / 1000.0);
            let ms = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64 / 1000.0;
            report.offer_ms.push(ms(&x.counters.offer_us));
            report.connected_ms.push(ms(&x.counters.connected_us));
        }
    }
    eprintln!(
        "tern-load: {} subscribers joined in {:.1} s, {} failed",
        report.joined,
        began.elapsed().as_secs_f64(),
        report.failed
    );

    tokio::time::sleep(Duration::from_secs_f64(s.warmup)).await;
    let t0 = Instant::now();
    let mut fans = vec![0u64; streams.len()];
    for x in &subs {
        if x.counters.join_us.load(Ordering::Relaxed) != 0 {
            fans[x.stream] += 1;
        }
    }
    let offered = || -> u64 {
        sent.iter()
            .zip(&fans)
            .map(|(n, f)| n.load(Ordering::Relaxed) * f)
            .sum()
    };
    report.start = snapshot(s, &subs);
    report.start.offered = offered();
    recording.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(s.duration)).await;
    recording.store(false, Ordering::Relaxed);
    report.end = snapshot(s, &subs);
    report.end.offered = offered();
    report.window_s = t0.elapsed().as_secs_f64();
    report.server_rss_after = s.server_pid.and_then(procstat::rss_bytes);
    report.loadavg = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned();

    for x in &subs {
        if x.task.is_finished() {
            report.dropped += 1;
        }
        if let Ok(mut d) = x.counters.delays.lock() {
            report.delays_us.append(&mut d);
        }
    }
    for x in subs {
        x.task.abort();
    }
    Ok(report)
}

fn micros_since(t: Instant) -> u64 {
    t.elapsed().as_micros().max(1) as u64
}

fn snapshot(s: &Scenario, subs: &[Sub]) -> Snapshot {
    let mut snap = Snapshot {
        own_cpu: procstat::cpu_seconds(std::process::id()).unwrap_or(0.0),
        server_cpu: s.server_pid.and_then(procstat::cpu_seconds),
        server_core_busy: s
            .server_pid
            .and_then(procstat::pinned_cpu)
            .and_then(procstat::cpu_busy_seconds),
        ..Snapshot::default()
    };
    for x in subs {
        let c = &x.counters;
        snap.packets += c.packets.load(Ordering::Relaxed);
        snap.bytes += c.bytes.load(Ordering::Relaxed);
        snap.expected += c.expected.load(Ordering::Relaxed);
        snap.intact += c.intact.load(Ordering::Relaxed);
        snap.corrupt += c.corrupt.load(Ordering::Relaxed);
    }
    snap
}

/// Starts one publisher and returns what its subscribers ask for.
async fn publish(
    s: &Scenario,
    name: &str,
    wait: Duration,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(StreamRef, PeerHandle)> {
    let mut peer = ClientPeer::new(s.bind).await?;
    let (stream, mut handle) = match s.target {
        Target::Tern => {
            let mut sig = Signal::connect(&s.url).await?;
            sig.publish(name).await?;
            sig.expect("start", wait).await?;
            let offer = peer.publish_offer(name, true, true, false);
            sig.sdp(name, "offer", &offer).await?;
            let answer = sig.expect("takeConfiguration", wait).await?;
            let sdp = answer["sdp"].as_str().context("answer without sdp")?;
            peer.accept_answer(sdp)?;
            let handle = peer.spawn();
            tokio::spawn(sig.keep(stop));
            (StreamRef::Tern(name.to_owned()), handle)
        }
        Target::Janus => {
            let mut j = JanusClient::connect(&s.url, wait).await?;
            let feed = j.join_publisher(s.room, wait).await?;
            let offer = peer.publish_offer(name, true, true, false);
            let answer = j.publish(&offer, wait).await?;
            peer.accept_answer(&answer)?;
            let handle = peer.spawn();
            tokio::spawn(j.keep(stop));
            (StreamRef::Janus(feed), handle)
        }
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(PeerEvent::Connected)) => break,
            Ok(Some(PeerEvent::Closed(why))) => bail!("publisher closed: {why}"),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => bail!("publisher did not connect within {wait:?}"),
        }
    }
    Ok((stream, handle))
}

/// Sends video frames at `fps` and Opus packets at `audio_pps` until `stop`.
async fn feed(s: Scenario, mut h: PeerHandle, phase: Duration, mut stop: watch::Receiver<bool>) {
    tokio::time::sleep(phase).await;
    let mut video = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(s.fps)));
    let audio_every = Duration::from_secs_f64(1.0 / f64::from(s.audio_pps.max(1)));
    let mut audio = tokio::time::interval(audio_every);
    video.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    audio.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut vseq, mut aseq) = (0u32, 0u32);
    let vbytes = s.video_frame_bytes();
    loop {
        let cmd = tokio::select! {
            _ = video.tick() => {
                vseq += 1;
                let key = (vseq - 1) % s.keyframe_every == 0;
                PeerCmd::Frame { kind: MediaKind::Video, data: payload::video_frame(vseq, now_micros(), vbytes, key) }
            }
            _ = audio.tick(), if s.audio_pps > 0 => {
                aseq += 1;
                PeerCmd::Frame { kind: MediaKind::Audio, data: payload::frame(aseq, now_micros(), s.audio_bytes) }
            }
            // Events (keyframe requests and the like) are not needed: drop them.
            e = h.events.recv() => match e {
                Some(PeerEvent::Closed(_)) | None => return,
                Some(_) => continue,
            },
            _ = crate::stopped(&mut stop) => return,
        };
        if h.cmd.send(cmd).await.is_err() {
            return;
        }
    }
}

/// Joins one subscriber: signaling, then its counting peer.
async fn subscribe(
    s: &Scenario,
    stream: StreamRef,
    recording: Arc<AtomicBool>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Sub> {
    let wait = Duration::from_secs_f64(s.join_timeout);
    let mut sub = Subscriber::new(s.bind).await?;
    let counters = Arc::new(Counters::default());
    let task = match stream {
        StreamRef::Tern(id) => {
            let mut sig = Signal::connect(&s.url).await?;
            let joined = Instant::now();
            sig.play(&id).await?;
            let offer = sig.expect("takeConfiguration", wait).await?;
            counters
                .offer_us
                .store(micros_since(joined), Ordering::Relaxed);
            let answer = sub.accept_offer(offer["sdp"].as_str().context("offer without sdp")?)?;
            sig.sdp(&id, "answer", &answer).await?;
            let task = sub.spawn(joined, s.sample, counters.clone(), recording, stop.clone());
            tokio::spawn(sig.keep(stop));
            task
        }
        StreamRef::Janus(feed) => {
            let mut j = JanusClient::connect(&s.url, wait).await?;
            let joined = Instant::now();
            let offer = j.subscribe(s.room, feed, wait).await?;
            counters
                .offer_us
                .store(micros_since(joined), Ordering::Relaxed);
            let answer = sub.accept_offer(&offer)?;
            j.start(&answer, wait).await?;
            let task = sub.spawn(joined, s.sample, counters.clone(), recording, stop.clone());
            tokio::spawn(j.keep(stop));
            task
        }
    };
    Ok(Sub {
        stream: 0,
        counters,
        task,
    })
}
