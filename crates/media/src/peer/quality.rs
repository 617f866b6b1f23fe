//! A peer's connection quality from str0m's periodic statistics: media
//! bitrates, round-trip time, loss and packet counts, for REST's client
//! statistics and the console.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::{MediaKind, Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};
use tern_core::PeerQuality;

use crate::egress::direct::DirectCounts;

/// How often str0m reports a peer's statistics.
pub const QUALITY_INTERVAL: Duration = Duration::from_secs(2);

/// The last figures of each RTP stream of one peer, and the totals of the
/// previous report to turn byte counts into rates.
#[derive(Debug, Default)]
pub struct QualityTally {
    streams: HashMap<(Mid, Option<Rid>), StreamFigures>,
    last: Option<(Instant, u64, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct StreamFigures {
    video: bool,
    packets: u64,
    lost: u64,
    loss: Option<f32>,
    rtt: Option<Duration>,
}

impl QualityTally {
    pub fn on_egress(&mut self, s: &MediaEgressStats, kind: Option<MediaKind>) {
        self.streams.insert(
            (s.mid, s.rid),
            StreamFigures {
                video: kind == Some(MediaKind::Video),
                packets: s.packets,
                lost: s.remote.as_ref().map_or(0, |r| r.packets_lost),
                loss: s.loss,
                rtt: s.rtt,
            },
        );
    }

    pub fn on_ingress(&mut self, s: &MediaIngressStats, kind: Option<MediaKind>) {
        self.streams.insert(
            (s.mid, s.rid),
            StreamFigures {
                video: kind == Some(MediaKind::Video),
                packets: s.packets,
                lost: 0,
                loss: s.loss,
                rtt: s.rtt,
            },
        );
    }

    /// Packets the peer has reported lost, over all the streams sent to it.
    pub fn lost(&self) -> u64 {
        self.streams.values().map(|f| f.lost).sum()
    }

    /// Drops the figures of a track that is gone, so totals do not keep it.
    pub fn forget(&mut self, mid: Mid) {
        self.streams.retain(|(m, _), _| *m != mid);
    }

    /// The report for this `PeerStats` event. str0m sends the peer's event
    /// before its streams' events of the same round, so the stream figures
    /// are those of the previous round: at most one interval old.
    /// `direct`: what Tern sent past str0m (`egress/`), which str0m's
    /// figures do not count.
    pub fn report(&mut self, s: &PeerStats, direct: DirectCounts) -> PeerQuality {
        let bytes_tx = s.bytes_tx + direct.bytes;
        let (send_bitrate, receive_bitrate) = match self.last {
            Some((at, tx, rx)) if s.timestamp > at => {
                let ms = s.timestamp.duration_since(at).as_millis().max(1) as u64;
                (
                    bytes_tx.saturating_sub(tx) * 8 * 1000 / ms,
                    s.bytes_rx.saturating_sub(rx) * 8 * 1000 / ms,
                )
            }
            _ => (0, 0),
        };
        self.last = Some((s.timestamp, bytes_tx, s.bytes_rx));
        let streams = self.streams.values();
        let rtt = s
            .rtt
            .or_else(|| self.streams.values().filter_map(|f| f.rtt).max());
        let losses: Vec<f32> = self.streams.values().filter_map(|f| f.loss).collect();
        let loss = s
            .egress_loss_fraction
            .or(s.ingress_loss_fraction)
            .or_else(|| losses.iter().copied().reduce(f32::max));
        let mut q = PeerQuality {
            send_bitrate,
            receive_bitrate,
            rtt_ms: rtt.map(|d| d.as_millis().min(u32::MAX as u128) as u32),
            loss_percent: loss.map(|f| (f * 100.0).clamp(0.0, 100.0)),
            remote: s.selected_candidate_pair.as_ref().map(|p| p.remote.addr),
            ..PeerQuality::default()
        };
        q.video_packets += direct.video_packets;
        q.audio_packets += direct.audio_packets;
        for f in streams {
            q.packets_lost += f.lost;
            if f.video {
                q.video_packets += f.packets;
            } else {
                q.audio_packets += f.packets;
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer_stats(at: Instant, tx: u64, rx: u64) -> PeerStats {
        PeerStats {
            peer_bytes_rx: rx,
            peer_bytes_tx: tx,
            bytes_rx: rx,
            bytes_tx: tx,
            timestamp: at,
            bwe_tx: None,
            egress_loss_fraction: Some(0.02),
            ingress_loss_fraction: None,
            rtt: Some(Duration::from_millis(42)),
            selected_candidate_pair: None,
        }
    }

    #[test]
    fn rates_come_from_byte_deltas_and_packets_add_up_by_kind() {
        let t0 = Instant::now();
        let mut q = QualityTally::default();
        let first = q.report(&peer_stats(t0, 1000, 0), DirectCounts::default());
        assert_eq!(first.send_bitrate, 0, "no rate before a second report");
        // 250 kB more in 2 s: 1 Mbit/s.
        let second = q.report(
            &peer_stats(t0 + QUALITY_INTERVAL, 251_000, 0),
            DirectCounts::default(),
        );
        assert_eq!(second.send_bitrate, 1_000_000);
        assert_eq!(second.rtt_ms, Some(42));
        assert_eq!(second.loss_percent, Some(2.0));
        assert_eq!(second.video_packets + second.audio_packets, 0);
    }
}
