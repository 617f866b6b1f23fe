//! The figures of one run, as a table and as JSON.

use serde_json::{json, Value};

use crate::scenario::{Scenario, Target};

/// Counters summed over every subscriber at one instant.
#[derive(Debug, Default, Clone, Copy)]
pub struct Snapshot {
    pub packets: u64,
    pub bytes: u64,
    pub expected: u64,
    pub intact: u64,
    pub corrupt: u64,
    /// Packets the publishers sent times the subscribers that receive them.
    pub offered: u64,
    pub own_cpu: f64,
    pub server_cpu: Option<f64>,
    /// Busy time of the CPU the server is pinned to, whoever used it.
    pub server_core_busy: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub subscribers: usize,
    pub joined: usize,
    /// Joins that failed in signaling or never saw media.
    pub failed: usize,
    /// Subscribers whose peer died during the run.
    pub dropped: usize,
    pub join_ms: Vec<f64>,
    /// Of joined subscribers: join request → the server's SDP.
    pub offer_ms: Vec<f64>,
    /// Of joined subscribers: join request → ICE and DTLS up.
    pub connected_ms: Vec<f64>,
    pub delays_us: Vec<u32>,
    pub window_s: f64,
    pub start: Snapshot,
    pub end: Snapshot,
    pub server_rss_before: Option<u64>,
    pub server_rss_after: Option<u64>,
    pub first_errors: Vec<String>,
    /// /proc/loadavg at the end of the window.
    pub loadavg: String,
}

/// The `q` quantile (0..=1) of sorted `v`, nearest rank.
pub fn quantile<T: Copy>(v: &[T], q: f64) -> Option<T> {
    if v.is_empty() {
        return None;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

impl Report {
    pub fn packets(&self) -> u64 {
        self.end.packets - self.start.packets
    }

    pub fn packets_per_s(&self) -> f64 {
        self.packets() as f64 / self.window_s
    }

    /// Packets that subscribers got short of what publishers sent: this also
    /// sees frames a server dropped whole, which leave no sequence gap when it
    /// repacketizes.
    pub fn shortfall(&self) -> f64 {
        let offered = self.end.offered.saturating_sub(self.start.offered);
        if offered == 0 {
            return 0.0;
        }
        offered.saturating_sub(self.packets()) as f64 / offered as f64
    }

    /// Sequence-number gaps seen by subscribers.
    pub fn loss(&self) -> f64 {
        let expected = self.end.expected.saturating_sub(self.start.expected);
        if expected == 0 {
            return 0.0;
        }
        expected.saturating_sub(self.packets()) as f64 / expected as f64
    }

    pub fn server_cpu_s(&self) -> Option<f64> {
        Some(self.end.server_cpu? - self.start.server_cpu?)
    }

    pub fn to_json(&mut self, s: &Scenario) -> Value {
        self.join_ms.sort_by(f64::total_cmp);
        self.offer_ms.sort_by(f64::total_cmp);
        self.connected_ms.sort_by(f64::total_cmp);
        self.delays_us.sort_unstable();
        let pkts = self.packets().max(1) as f64;
        let server = self.server_cpu_s();
        let rss_per_sub = match (self.server_rss_before, self.server_rss_after) {
            (Some(b), Some(a)) if self.joined > 0 => {
                Some(a.saturating_sub(b) as f64 / self.joined as f64)
            }
            _ => None,
        };
        json!({
            "label": s.label,
            "target": match s.target { Target::Tern => "tern", Target::Janus => "janus" },
            "scenario": {
                "publishers": s.publishers,
                "subscribers_per_stream": s.subscribers,
                "duration_s": s.duration,
                "seed": s.seed,
                "video_kbps": s.video_kbps,
                "fps": s.fps,
                "video_frame_bytes": s.video_frame_bytes(),
                "audio_pps": s.audio_pps,
                "keyframe_every": s.keyframe_every,
                "join_rate": s.join_rate,
                "sample": s.sample,
            },
            "subscribers": self.subscribers,
            "joined": self.joined,
            "failed": self.failed,
            "dropped": self.dropped,
            "join_ms": {
                "p50": quantile(&self.join_ms, 0.5),
                "p99": quantile(&self.join_ms, 0.99),
                "max": self.join_ms.last(),
            },
            "join_offer_ms": {
                "p50": quantile(&self.offer_ms, 0.5),
                "p99": quantile(&self.offer_ms, 0.99),
            },
            "join_connected_ms": {
                "p50": quantile(&self.connected_ms, 0.5),
                "p99": quantile(&self.connected_ms, 0.99),
            },
            "window_s": self.window_s,
            "delivered_pps": self.packets_per_s(),
            "delivered_mbps": (self.end.bytes - self.start.bytes) as f64 * 8.0 / self.window_s / 1e6,
            "mean_packet_bytes": (self.end.bytes - self.start.bytes) as f64 / pkts,
            "offered_pps": (self.end.offered - self.start.offered) as f64 / self.window_s,
            "seq_loss": self.loss(),
            "shortfall": self.shortfall(),
            "loss": self.loss().max(self.shortfall()),
            "delay_us": {
                "p50": quantile(&self.delays_us, 0.5),
                "p99": quantile(&self.delays_us, 0.99),
                "samples": self.delays_us.len(),
            },
            "sampled_intact": self.end.intact - self.start.intact,
            "sampled_corrupt": self.end.corrupt - self.start.corrupt,
            "generator_cpu_s": self.end.own_cpu - self.start.own_cpu,
            "generator_us_per_packet": (self.end.own_cpu - self.start.own_cpu) * 1e6 / pkts,
            "server_cpu_s": server,
            "server_cpu_share": server.map(|c| c / self.window_s),
            "server_us_per_packet": server.map(|c| c * 1e6 / pkts),
            // Time others (builds, other processes, interrupts) took on the server's
            // core: large values mean the run was disturbed.
            "server_core_others_share": match (self.end.server_core_busy, self.start.server_core_busy, server) {
                (Some(e), Some(b), Some(c)) => Some(((e - b - c) / self.window_s).max(0.0)),
                _ => None,
            },
            "loadavg": self.loadavg,
            "server_rss_before": self.server_rss_before,
            "server_rss_after": self.server_rss_after,
            "server_rss_per_subscriber": rss_per_sub,
            "first_errors": self.first_errors,
        })
    }
}

/// The human-readable lines of a report made by [`Report::to_json`].
pub fn table(j: &Value) -> String {
    let f = |v: &Value, scale: f64, digits: usize| {
        v.as_f64()
            .map_or_else(|| "-".to_string(), |x| format!("{:.*}", digits, x * scale))
    };
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<34} {v}\n"));
    line("target", format!("{} {}", j["target"], j["label"]));
    line(
        "subscribers (joined/failed/dropped)",
        format!(
            "{} ({}/{}/{})",
            j["subscribers"], j["joined"], j["failed"], j["dropped"]
        ),
    );
    line(
        "join ms p50 / p99 / max",
        format!(
            "{} / {} / {}",
            f(&j["join_ms"]["p50"], 1.0, 1),
            f(&j["join_ms"]["p99"], 1.0, 1),
            f(&j["join_ms"]["max"], 1.0, 1)
        ),
    );
    line(
        "  of which to SDP / to ICE+DTLS p50",
        format!(
            "{} / {}",
            f(&j["join_offer_ms"]["p50"], 1.0, 1),
            f(&j["join_connected_ms"]["p50"], 1.0, 1)
        ),
    );
    line(
        "  of which to SDP / to ICE+DTLS p99",
        format!(
            "{} / {}",
            f(&j["join_offer_ms"]["p99"], 1.0, 1),
            f(&j["join_connected_ms"]["p99"], 1.0, 1)
        ),
    );
    line("delivered packets/s", f(&j["delivered_pps"], 1.0, 0));
    line("delivered Mbit/s", f(&j["delivered_mbps"], 1.0, 1));
    line(
        "offered packets/s (sent × fans)",
        f(&j["offered_pps"], 1.0, 0),
    );
    line(
        "loss % (seq gaps / short of sent)",
        format!(
            "{} / {}",
            f(&j["seq_loss"], 100.0, 3),
            f(&j["shortfall"], 100.0, 3)
        ),
    );
    line(
        "one-way delay ms p50 / p99",
        format!(
            "{} / {}",
            f(&j["delay_us"]["p50"], 1e-3, 2),
            f(&j["delay_us"]["p99"], 1e-3, 2)
        ),
    );
    line(
        "sampled intact / corrupt",
        format!("{} / {}", j["sampled_intact"], j["sampled_corrupt"]),
    );
    line(
        "server CPU % of one core",
        f(&j["server_cpu_share"], 100.0, 1),
    );
    line(
        "server CPU µs per packet",
        f(&j["server_us_per_packet"], 1.0, 2),
    );
    line(
        "server RSS KiB per subscriber",
        f(&j["server_rss_per_subscriber"], 1.0 / 1024.0, 1),
    );
    line(
        "generator CPU µs per packet",
        f(&j["generator_us_per_packet"], 1.0, 2),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), Some(50));
        assert_eq!(quantile(&v, 0.99), Some(99));
        assert_eq!(quantile(&v, 1.0), Some(100));
        assert_eq!(quantile(&[7u32], 0.99), Some(7));
        assert_eq!(quantile::<u32>(&[], 0.5), None);
    }
}
