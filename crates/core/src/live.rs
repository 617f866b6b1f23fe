//! Per-stream detail for operators: each live stream with its renditions and
//! its players' connection quality (REST statistics and the console). Unlike
//! the census, this names streams and peers, so it never goes to metrics.

use tern_signal::StreamInfo;

use crate::ids::{PeerId, StreamKey};
use crate::media_api::PeerQuality;
use crate::Core;

#[derive(Debug, Clone)]
pub struct LiveStream {
    pub app: String,
    pub stream_id: String,
    pub name: Option<String>,
    /// `WebRTC`, `WHIP`, …
    pub publish_type: String,
    /// Renditions, tallest first.
    pub tracks: Vec<StreamInfo>,
    pub publisher: Option<PeerQuality>,
    pub players: Vec<PlayerStats>,
}

#[derive(Debug, Clone)]
pub struct PlayerStats {
    pub peer: PeerId,
    /// `WebRTC` or `WHEP`.
    pub kind: &'static str,
    pub quality: Option<PeerQuality>,
    pub layer_height: Option<u32>,
    /// The bandwidth estimate towards it (simulcast streams).
    pub estimate: Option<u64>,
}

impl Core {
    /// Every live stream of every application, by application and id.
    pub fn live_streams(&self) -> Vec<LiveStream> {
        let mut keys: Vec<&StreamKey> = self
            .state
            .streams
            .iter()
            .filter(|(_, s)| s.live)
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys.into_iter()
            .filter_map(|k| self.live_stream(&k.app, &k.id))
            .collect()
    }

    /// One live stream; `None` when it is not live.
    pub fn live_stream(&self, app: &str, id: &str) -> Option<LiveStream> {
        let key = StreamKey {
            app: app.to_owned(),
            id: id.to_owned(),
        };
        let stream = self.state.streams.get(&key).filter(|s| s.live)?;
        let players = stream
            .players
            .iter()
            .filter_map(|id| Some((*id, self.state.peers.get(id)?)))
            .filter(|(_, p)| p.connected)
            .map(|(id, p)| {
                let headless = self
                    .state
                    .sessions
                    .get(&p.session)
                    .is_some_and(|s| s.headless);
                PlayerStats {
                    peer: id,
                    kind: if headless { "WHEP" } else { "WebRTC" },
                    quality: p.measured.quality.clone(),
                    layer_height: p.measured.layer_height,
                    estimate: p.measured.estimate,
                }
            })
            .collect();
        Some(LiveStream {
            app: key.app,
            stream_id: key.id,
            name: stream.meta.name.clone(),
            publish_type: stream.meta.publish_type.clone(),
            tracks: stream.info.clone(),
            publisher: self
                .state
                .peers
                .get(&stream.publisher)
                .and_then(|p| p.measured.quality.clone()),
            players,
        })
    }
}
