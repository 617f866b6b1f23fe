//! SDP and ICE exchange (`takeConfiguration`, `takeCandidate`) and the media
//! layer's answers to it.

use std::time::Instant;

use tern_signal::{ErrorDef, NotificationDef, SdpKind, ServerMessage, TakeCandidate};

use crate::ids::{PeerId, SessionId};
use crate::media_api::{LocalCandidates, MediaCommand, MediaEvent, PeerRole, SdpFailure};
use crate::state::Phase;
use crate::Core;

impl Core {
    pub(crate) fn take_configuration(
        &mut self,
        session: SessionId,
        id: &str,
        kind: SdpKind,
        sdp: String,
    ) {
        let (role, expected, next) = match kind {
            SdpKind::Offer => (
                PeerRole::Publisher,
                Phase::AwaitingOffer,
                Phase::Negotiating,
            ),
            SdpKind::Answer => (PeerRole::Player, Phase::AwaitingAnswer, Phase::Negotiated),
        };
        let Some(peer) = self.state.session_peer(session, id, role) else {
            // Ant Media ignores SDP for streams the session holds no peer for: it
            // is usually a late message of a peer that was just stopped.
            tracing::debug!(%session, stream = id, kind = kind.as_str(), "SDP for no peer, ignored");
            return;
        };
        let p = self
            .state
            .peers
            .get_mut(&peer)
            .expect("session_peer names a live peer");
        if p.phase != expected {
            tracing::debug!(%session, %peer, kind = kind.as_str(), "SDP out of order, ignored");
            return;
        }
        p.phase = next;
        let cmd = match kind {
            SdpKind::Offer => MediaCommand::OpenPublisher {
                peer,
                session,
                stream: p.stream.clone(),
                group: self
                    .state
                    .streams
                    .get(&p.stream)
                    .and_then(|s| s.meta.main_track.clone())
                    .unwrap_or_else(|| p.stream.id.clone()),
                profile: self.state.sessions[&session].settings.media_profile(),
                offer: sdp,
            },
            SdpKind::Answer => MediaCommand::ApplyAnswer { peer, answer: sdp },
        };
        self.media(cmd);
    }

    /// A publisher of `session` that gives frames (RTMP, SRT) instead of an
    /// offer, after `start`: its media opens with these tracks. False when
    /// the session has no publisher of `id` waiting for its media.
    pub fn open_frame_source(
        &mut self,
        session: SessionId,
        id: &str,
        audio: bool,
        video: bool,
    ) -> bool {
        let Some(peer) = self.state.session_peer(session, id, PeerRole::Publisher) else {
            return false;
        };
        let Some(p) = self.state.peers.get_mut(&peer) else {
            return false;
        };
        if p.phase != Phase::AwaitingOffer {
            return false;
        }
        p.phase = Phase::Negotiated;
        let stream = p.stream.clone();
        let group = self
            .state
            .streams
            .get(&stream)
            .and_then(|s| s.meta.main_track.clone())
            .unwrap_or_else(|| stream.id.clone());
        self.media(MediaCommand::OpenFrameSource {
            peer,
            session,
            stream,
            group,
            audio,
            video,
        });
        true
    }

    pub(crate) fn take_candidate(&mut self, session: SessionId, c: TakeCandidate) {
        let Some(candidate) = c.candidate else {
            return; // end-of-candidates marker
        };
        let peer = self
            .state
            .session_peer(session, &c.stream_id, PeerRole::Publisher)
            .or_else(|| {
                self.state
                    .session_peer(session, &c.stream_id, PeerRole::Player)
            });
        if let Some(peer) = peer {
            self.media(MediaCommand::AddCandidate { peer, candidate });
        }
    }

    /// What the media layer reports. Events of peers already ended are dropped.
    pub fn handle_media_event(&mut self, now: Instant, event: MediaEvent) {
        let peer = event.peer();
        let Some(p) = self.state.peers.get_mut(&peer) else {
            return;
        };
        let (session, role, id) = (p.session, p.role, p.stream.id.clone());
        match event {
            MediaEvent::Answer {
                sdp, candidates, ..
            } => {
                p.phase = Phase::Negotiated;
                self.send(
                    session,
                    ServerMessage::TakeConfiguration {
                        stream_id: id.clone(),
                        kind: SdpKind::Answer,
                        sdp,
                        id_mapping: Vec::new(),
                    },
                );
                self.trickle(session, &id, candidates);
            }
            MediaEvent::Offer {
                sdp,
                id_mapping,
                candidates,
                ..
            } => {
                p.phase = Phase::AwaitingAnswer;
                self.send(
                    session,
                    ServerMessage::TakeConfiguration {
                        stream_id: id.clone(),
                        kind: SdpKind::Offer,
                        sdp,
                        id_mapping,
                    },
                );
                self.trickle(session, &id, candidates);
            }
            MediaEvent::SdpFailed { failure, .. } => {
                let (def, why) = match failure {
                    SdpFailure::Remote(why) => (ErrorDef::NotSetRemoteDescription, why),
                    SdpFailure::Local(why) => (ErrorDef::NotSetLocalDescription, why),
                };
                tracing::info!(%session, %peer, stream = id, why, "SDP failed");
                self.send(
                    session,
                    ServerMessage::error(def, Some(&id)).with("information", why),
                );
                self.end_peer(now, peer, role, false);
            }
            MediaEvent::Connected { .. } => {
                p.connected = true;
                p.deadline = None;
                match role {
                    PeerRole::Publisher => self.publisher_connected(now, peer),
                    PeerRole::Player => {
                        let key = p.stream.clone();
                        self.send(
                            session,
                            ServerMessage::notification(NotificationDef::PlayStarted, &id),
                        );
                        self.report_viewers(&key);
                    }
                }
            }
            MediaEvent::Disconnected { reason, .. } => {
                tracing::info!(%session, %peer, stream = id, reason, "peer disconnected");
                match role {
                    PeerRole::Publisher => self.orphan_publisher(now, peer, &reason),
                    PeerRole::Player => self.end_player(peer, true),
                }
            }
            MediaEvent::NoMedia { .. } => {
                self.send(
                    session,
                    ServerMessage::error(ErrorDef::NoPacketReceivedForTimeoutDuration, Some(&id)),
                );
                self.end_peer(now, peer, role, true);
            }
            MediaEvent::SourceInfo { info, .. } => {
                let key = p.stream.clone();
                if let Some(stream) = self.state.streams.get_mut(&key) {
                    stream.info = info;
                }
            }
            MediaEvent::LayerChanged { height, .. } => {
                p.measured.layer_height = Some(height);
                let msg = ServerMessage::notification(NotificationDef::ResolutionChangeInfo, &id)
                    .with("streamHeight", height);
                self.send(session, msg);
            }
            MediaEvent::PlayerBitrates {
                target,
                video,
                audio,
                ..
            } => {
                p.measured.estimate = Some(target);
                let msg = ServerMessage::notification(NotificationDef::BitrateMeasurement, &id)
                    .with("targetBitrate", target)
                    .with("videoBitrate", video)
                    .with("audioBitrate", audio);
                self.send(session, msg);
            }
            MediaEvent::Quality { quality, .. } => p.measured.quality = Some(quality),
        }
    }

    fn end_peer(&mut self, now: Instant, peer: PeerId, role: PeerRole, notify_self: bool) {
        match role {
            PeerRole::Publisher => self.end_publisher(now, peer, notify_self),
            PeerRole::Player => self.end_player(peer, notify_self),
        }
    }

    fn trickle(&mut self, session: SessionId, id: &str, candidates: LocalCandidates) {
        for candidate in candidates.lines {
            self.send(
                session,
                ServerMessage::TakeCandidate {
                    stream_id: id.to_owned(),
                    label: 0,
                    mid: candidates.mid.clone(),
                    candidate,
                },
            );
        }
    }
}
