//! One publisher's players on several media workers. The publisher's worker
//! (its home) keeps forwarding to its own players and hands every packet to
//! the other workers that have players of it: the packet is shared, never
//! copied. There the publisher is a mirror: its tracks and layers, enough to
//! negotiate players and choose their layers; keyframe requests and player
//! channel messages go back home, and home passes a player's message on to
//! the other workers' players.

pub mod msg;

use std::sync::Arc;
use std::time::Instant;

use str0m::media::{MediaKind, Mid, Rid};
use tern_core::{PeerId, PeerRole, SessionId};

use crate::mirror::msg::{Mirror, Relay};
use crate::output::SfuOutput;
use crate::rtp::packet::Ingress;
use crate::simulcast::selector::Layer;
use crate::worker::Sfu;

impl Sfu {
    /// Starts relaying `source`, a publisher of this worker, to `worker`. Its
    /// description is the first output for `worker`, so poll it out before
    /// handing `worker` anything that needs the mirror. False when `source`
    /// is not a publisher here.
    pub fn mirror_to(&mut self, source: PeerId, worker: usize) -> bool {
        let Some((tracks, simulcast)) = self.own_source_tracks(source) else {
            return false;
        };
        if worker == self.index {
            return false;
        }
        self.epochs += 1;
        let epoch = self.epochs;
        let relay = Relay::Source {
            source,
            home: self.index,
            epoch,
            tracks,
            simulcast,
            rids: self.source_rids(source),
        };
        self.out.push_back(SfuOutput::Relay { worker, relay });
        let list = self.relays.entry(source).or_default();
        list.retain(|(w, _)| *w != worker);
        list.push((worker, epoch));
        true
    }

    /// What another worker relayed.
    pub fn handle_relay(&mut self, now: Instant, relay: Relay) {
        self.now = now;
        if !matches!(relay, Relay::Media { .. }) {
            // A mirror that begins or ends sees the packets before it sent.
            self.flush_fan_out(now);
        }
        match relay {
            Relay::Source {
                source,
                home,
                epoch,
                tracks,
                simulcast,
                rids,
            } => {
                self.mirrors.insert(
                    source,
                    Mirror {
                        home,
                        epoch,
                        tracks,
                        simulcast,
                        rids,
                        layers: Vec::new(),
                    },
                );
            }
            Relay::Media { source, ingress } => {
                let Some(mirror) = self.mirrors.get_mut(&source) else {
                    return;
                };
                if ingress.rid.is_some() && mirror.layers != ingress.layers {
                    mirror.layers.clone_from(&ingress.layers);
                }
                self.fan_out(now, source, &ingress);
            }
            Relay::Data {
                source,
                binary,
                data,
            } => {
                if self.mirrors.contains_key(&source) {
                    self.publisher_data(source, binary, &data);
                }
            }
            Relay::Gone { source } => {
                self.mirrors.remove(&source);
                self.end_stream(source);
            }
            Relay::ToPlayers {
                source,
                session,
                binary,
                data,
            } => {
                if self.mirrors.contains_key(&source) {
                    self.player_data(session, &[source], true, binary, &data);
                }
            }
            Relay::PlayerData {
                source,
                session,
                origin,
                to_others,
                binary,
                data,
            } => {
                if to_others {
                    self.relay_to_players(source, session, Some(origin), binary, &data);
                }
                self.player_data(session, &[source], to_others, binary, &data);
            }
            Relay::Keyframe {
                source,
                mid,
                rid,
                kind,
            } => self.request_keyframe(now, source, mid, rid, kind),
            Relay::KeyframesFor { source } => self.request_keyframes(now, source),
            Relay::Unmirror {
                source,
                worker,
                epoch,
            } => {
                if let Some(list) = self.relays.get_mut(&source) {
                    list.retain(|&(w, e)| (w, e) != (worker, epoch));
                    if list.is_empty() {
                        self.relays.remove(&source);
                    }
                }
            }
        }
    }

    /// A relay to every worker that mirrors `source` (a publisher here) but
    /// `except`.
    fn relay_mirrors(&mut self, source: PeerId, except: Option<usize>, relay: impl Fn() -> Relay) {
        let Some(workers) = self.relays.get(&source) else {
            return;
        };
        for &(worker, _) in workers.iter().filter(|(w, _)| Some(*w) != except) {
            self.out.push_back(SfuOutput::Relay {
                worker,
                relay: relay(),
            });
        }
    }

    /// A relay to the home of `source`, if it is mirrored here. False if not.
    pub(crate) fn relay_home(&mut self, source: PeerId, relay: impl FnOnce() -> Relay) -> bool {
        let Some(worker) = self.mirrors.get(&source).map(|m| m.home) else {
            return false;
        };
        self.out.push_back(SfuOutput::Relay {
            worker,
            relay: relay(),
        });
        true
    }

    /// A publisher's packet to the other workers that play it.
    pub(crate) fn relay_media(&mut self, source: PeerId, ingress: &Arc<Ingress>) {
        self.relay_mirrors(source, None, || Relay::Media {
            source,
            ingress: Arc::clone(ingress),
        });
    }

    pub(crate) fn relay_data(&mut self, source: PeerId, binary: bool, data: &Arc<[u8]>) {
        self.relay_mirrors(source, None, || Relay::Data {
            source,
            binary,
            data: Arc::clone(data),
        });
    }

    /// A player's channel message to the homes of its mirrored sources and,
    /// when it goes to other players too, to the workers that mirror its
    /// sources from here.
    pub(crate) fn relay_player_data(
        &mut self,
        session: SessionId,
        sources: &[PeerId],
        to_others: bool,
        binary: bool,
        data: &Arc<[u8]>,
    ) {
        let origin = self.index;
        for &source in sources {
            let home = || Relay::PlayerData {
                source,
                session,
                origin,
                to_others,
                binary,
                data: Arc::clone(data),
            };
            if !self.relay_home(source, home) && to_others {
                self.relay_to_players(source, session, None, binary, data);
            }
        }
    }

    /// A player's channel message to the players of `source` on the workers
    /// that mirror it, but `origin`'s (which delivered it itself).
    fn relay_to_players(
        &mut self,
        source: PeerId,
        session: SessionId,
        origin: Option<usize>,
        binary: bool,
        data: &Arc<[u8]>,
    ) {
        self.relay_mirrors(source, origin, || Relay::ToPlayers {
            source,
            session,
            binary,
            data: Arc::clone(data),
        });
    }

    /// The last player here of a mirrored source left: stop its packets.
    pub(crate) fn drop_mirror_if_unused(&mut self, source: PeerId) {
        if !self.mirrors.contains_key(&source) {
            return;
        }
        if self.streams.get(&source).is_some_and(|s| !s.unused()) {
            return;
        }
        self.end_stream(source);
        if let Some(m) = self.mirrors.remove(&source) {
            let relay = Relay::Unmirror {
                source,
                worker: self.index,
                epoch: m.epoch,
            };
            self.out.push_back(SfuOutput::Relay {
                worker: m.home,
                relay,
            });
        }
    }

    /// A publisher here ended: its mirrors elsewhere go too.
    pub(crate) fn end_relays(&mut self, source: PeerId) {
        for (worker, _) in self.relays.remove(&source).unwrap_or_default() {
            let relay = Relay::Gone { source };
            self.out.push_back(SfuOutput::Relay { worker, relay });
        }
    }

    /// A source of this worker (a publisher or a frame source): its tracks
    /// and whether it sends simulcast.
    fn own_source_tracks(&self, id: PeerId) -> Option<(Vec<(Mid, MediaKind)>, bool)> {
        if let Some(p) = self.peers.get(&id) {
            return (p.role == PeerRole::Publisher).then(|| (p.tracks_in.clone(), p.simulcast));
        }
        self.frame_sources.get(&id).map(|f| (f.tracks(), false))
    }

    /// A source's tracks and whether it sends simulcast, here or mirrored.
    pub(crate) fn source_tracks(&self, id: PeerId) -> Option<(Vec<(Mid, MediaKind)>, bool)> {
        if let Some(p) = self.peers.get(&id) {
            return Some((p.tracks_in.clone(), p.simulcast));
        }
        if let Some(f) = self.frame_sources.get(&id) {
            return Some((f.tracks(), false));
        }
        self.mirrors
            .get(&id)
            .map(|m| (m.tracks.clone(), m.simulcast))
    }

    /// A source's simulcast rids as offered (none: not simulcast), here or
    /// mirrored.
    pub(crate) fn source_rids(&self, id: PeerId) -> Vec<Rid> {
        if let Some(p) = self.peers.get(&id) {
            return p.rids.clone();
        }
        self.mirrors
            .get(&id)
            .map(|m| m.rids.clone())
            .unwrap_or_default()
    }

    /// A source's simulcast layers now, here or mirrored.
    pub(crate) fn source_layers(&self, id: PeerId, now: Instant) -> Option<Vec<(Rid, Layer)>> {
        if let Some(p) = self.peers.get(&id) {
            return Some(p.stats.layers(now));
        }
        self.mirrors.get(&id).map(|m| m.layers.clone())
    }
}
