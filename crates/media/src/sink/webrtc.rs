//! WebRTC players: the offer Tern makes to a page that plays a stream or a room, and
//! its renegotiation when the room's participants change.

use std::time::Instant;

use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, Mid, Rid, Simulcast, SimulcastLayer};
use tern_core::{
    MediaEvent, MediaProfile, PeerId, PeerRole, SdpFailure, SessionId, Source, StreamKey,
};

use crate::egress::direct::DirectTx;
use crate::peer::{Peer, TrackOut};
use crate::sdp_text::first_mid;
use crate::worker::Sfu;

/// A source new to a player: its tracks, and whether it sends simulcast.
pub(crate) type NewSource = (Source, Vec<(Mid, MediaKind)>, bool);

/// Track id of a source's track, as Ant Media names them.
fn track_id(kind: MediaKind, stream_id: &str) -> String {
    let letter = if kind == MediaKind::Audio { 'a' } else { 'v' };
    format!("ARDAMS{letter}{stream_id}")
}

impl Sfu {
    /// A player's `Rtc`, and how its media leaves: sealed by Tern itself
    /// when that is on and it has no bandwidth estimate (which needs str0m's
    /// transport-wide sequence numbers on every packet).
    pub(crate) fn new_player_rtc(
        &self,
        profile: MediaProfile,
        now: Instant,
        bwe: bool,
    ) -> (str0m::Rtc, DirectTx) {
        let direct = self.direct_egress && !bwe;
        let mut rtc = self.new_rtc(profile, now, bwe, direct);
        // The slot of the DTLS instance that `new_rtc` just made.
        let slot = crate::egress::keys::take_last().filter(|_| direct);
        let cname = format!("tern-{}", rtc.direct_api().local_ice_credentials().ufrag);
        (rtc, DirectTx::new(slot, cname))
    }

    pub(crate) fn open_player(
        &mut self,
        now: Instant,
        id: PeerId,
        session: SessionId,
        stream: &StreamKey,
        sources: Vec<Source>,
        profile: MediaProfile,
    ) {
        // Bandwidth estimation costs per packet; only a simulcast source gives
        // a choice to make with it, and a player of every layer makes none.
        let bwe = !profile.all_layers
            && sources.iter().any(|s| {
                self.source_tracks(s.peer)
                    .is_some_and(|(_, simulcast)| simulcast)
            });
        let (rtc, direct) = self.new_player_rtc(profile, now, bwe);
        let mut peer = Peer::new(rtc, PeerRole::Player, session, profile, now);
        peer.direct = direct;
        peer.stream_id = stream.id.clone();
        self.peers.insert(id, peer);
        self.negotiate(now, id, sources, true);
    }

    pub(crate) fn update_sources(&mut self, now: Instant, id: PeerId, sources: Vec<Source>) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.pending.is_some() {
            // One offer at a time: this one goes out when the answer is in.
            peer.wanted = Some(sources);
            return;
        }
        self.negotiate(now, id, sources, false);
    }

    /// Makes an offer that sends exactly `sources` (plus, the first time, a
    /// data channel) and tells the session logic.
    fn negotiate(&mut self, now: Instant, id: PeerId, sources: Vec<Source>, first: bool) {
        // Tracks of the sources that are new to this player.
        let current: Vec<PeerId> = self
            .peers
            .get(&id)
            .map(|p| p.sources.iter().map(|s| s.peer).collect())
            .unwrap_or_default();
        let all_layers = self.peers.get(&id).is_some_and(|p| p.profile.all_layers);
        let added: Vec<NewSource> = sources
            .iter()
            .filter(|s| !current.contains(&s.peer))
            .filter_map(|s| {
                let (tracks, simulcast) = self.source_tracks(s.peer)?;
                Some((s.clone(), tracks, simulcast))
            })
            .collect();
        // A player that gets every layer: each source's simulcast rids.
        let rids: Vec<Vec<Rid>> = added
            .iter()
            .map(|(s, _, simulcast)| match all_layers && *simulcast {
                true => self.source_rids(s.peer),
                false => Vec::new(),
            })
            .collect();
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let kept: Vec<PeerId> = sources.iter().map(|s| s.peer).collect();
        let mut api = peer.rtc.sdp_api();
        let mut stopped = Vec::new();
        for t in peer
            .tracks_out
            .iter_mut()
            .filter(|t| !kept.contains(&t.source))
        {
            // One m-line may carry several layers' tracks.
            if !stopped.contains(&t.mid) {
                api.stop_media(t.mid);
                stopped.push(t.mid);
            }
            t.stopping = true;
        }
        let mut new_tracks = Vec::new();
        for ((source, tracks, simulcast), rids) in added.iter().zip(&rids) {
            for (source_mid, kind) in tracks {
                let layers = (*kind == MediaKind::Video && !rids.is_empty()).then(|| {
                    let mut s = Simulcast::new();
                    for rid in rids {
                        s.add_send_layer(SimulcastLayer::new(rid));
                    }
                    s
                });
                let mid = api.add_media(
                    *kind,
                    Direction::SendOnly,
                    Some(source.stream_id.clone()),
                    Some(track_id(*kind, &source.stream_id)),
                    layers.clone(),
                );
                if layers.is_some() {
                    new_tracks.extend(
                        rids.iter()
                            .map(|rid| TrackOut::layer(source.peer, *source_mid, mid, *rid)),
                    );
                    continue;
                }
                new_tracks.push(TrackOut::new(
                    source.peer,
                    *source_mid,
                    mid,
                    *kind,
                    *simulcast,
                ));
            }
        }
        if first && peer.profile.data_channel {
            peer.channel = Some(api.add_channel(peer.stream_id.clone()));
        }
        let applied = api.apply();
        for mut t in new_tracks {
            t.enabled = peer.forwards(t.source, t.kind);
            if t.simulcast {
                peer.next_tick.get_or_insert(now);
            }
            peer.tracks_out.push(t);
        }
        let removed: Vec<PeerId> = current
            .iter()
            .filter(|p| !kept.contains(p))
            .copied()
            .collect();
        peer.sources = sources;
        let Some((offer, pending)) = applied else {
            if first {
                self.sdp_failed(
                    id,
                    SdpFailure::Local("the stream has nothing to send".into()),
                );
            }
            return;
        };
        peer.pending = Some(pending);
        let mut id_mapping: Vec<(String, String)> = peer
            .tracks_out
            .iter()
            .filter(|t| !t.stopping)
            .map(|t| {
                let stream_id = peer
                    .sources
                    .iter()
                    .find(|s| s.peer == t.source)
                    .map_or("", |s| s.stream_id.as_str());
                (t.mid.to_string(), track_id(t.kind, stream_id))
            })
            .collect();
        id_mapping.dedup();
        let sdp = offer.to_sdp_string();
        for p in removed {
            if let Some(s) = self.streams.get_mut(&p) {
                s.players.retain(|x| *x != id);
            }
            self.drop_mirror_if_unused(p);
        }
        for (s, _, _) in &added {
            self.streams.entry(s.peer).or_default().players.push(id);
        }
        self.dirty.push(id);
        let candidates = self.candidates(first_mid(&sdp), None);
        self.event(MediaEvent::Offer {
            peer: id,
            sdp,
            id_mapping,
            candidates,
        });
    }

    pub(crate) fn apply_answer(&mut self, now: Instant, id: PeerId, answer: &str) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let Some(pending) = peer.pending.take() else {
            return;
        };
        let result = SdpAnswer::from_sdp_string(answer)
            .map_err(|e| format!("the answer does not parse: {e}"))
            .and_then(|a| {
                peer.rtc
                    .sdp_api()
                    .accept_answer(pending, a)
                    .map_err(|e| format!("the answer was refused: {e}"))
            });
        match result {
            Ok(()) => {
                for t in peer.tracks_out.iter().filter(|t| t.stopping) {
                    peer.quality.forget(t.mid);
                }
                peer.tracks_out.retain(|t| !t.stopping);
                self.dirty.push(id);
                let first_answer = !std::mem::replace(&mut peer.dtls_started, true);
                let wanted = peer.wanted.take();
                if first_answer {
                    self.replay_early_dtls(now, id);
                    // The keyframe it needs is asked for now, so that it is
                    // kept ready (`stream::gop`) when ICE and DTLS are up,
                    // some 70 ms later, instead of asked for then.
                    let sources: Vec<PeerId> = self
                        .peers
                        .get(&id)
                        .map(|p| p.sources.iter().map(|s| s.peer).collect())
                        .unwrap_or_default();
                    for source in sources {
                        self.request_keyframes(now, source);
                    }
                }
                if let Some(wanted) = wanted {
                    self.negotiate(now, id, wanted, false);
                }
            }
            Err(why) => self.sdp_failed(id, SdpFailure::Remote(why)),
        }
    }

    pub(crate) fn set_forwarding(
        &mut self,
        id: PeerId,
        source: PeerId,
        audio: Option<bool>,
        video: Option<bool>,
    ) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let muted = peer.muted.entry(source).or_insert((false, false));
        if let Some(on) = audio {
            muted.0 = !on;
        }
        if let Some(on) = video {
            muted.1 = !on;
        }
        let (audio_off, video_off) = *muted;
        for t in peer.tracks_out.iter_mut().filter(|t| t.source == source) {
            t.enabled = if t.kind == MediaKind::Audio {
                !audio_off
            } else {
                !video_off
            };
        }
    }
}

impl Sfu {
    /// Moves a player's tracks from one publisher to another of the same
    /// stream (a restored session), kind by kind, and asks for keyframes.
    pub(crate) fn switch_source(&mut self, now: Instant, id: PeerId, from: PeerId, to: PeerId) {
        let Some((new_tracks, _)) = self.source_tracks(to) else {
            return;
        };
        let Some(player) = self.peers.get_mut(&id) else {
            return;
        };
        for t in player.tracks_out.iter_mut().filter(|t| t.source == from) {
            if let Some((mid, _)) = new_tracks.iter().find(|(_, k)| *k == t.kind) {
                t.source = to;
                t.source_mid = *mid;
                t.rewrite.switch();
            }
        }
        for s in player.sources.iter_mut().filter(|s| s.peer == from) {
            s.peer = to;
        }
        if let Some(m) = player.muted.remove(&from) {
            player.muted.insert(to, m);
        }
        if let Some(s) = self.streams.get_mut(&from) {
            s.players.retain(|p| *p != id);
        }
        self.drop_mirror_if_unused(from);
        let list = &mut self.streams.entry(to).or_default().players;
        if !list.contains(&id) {
            list.push(id);
        }
        self.request_keyframes(now, to);
    }
}
