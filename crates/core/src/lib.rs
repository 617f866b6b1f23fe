//! Tern's sans-IO session logic: who publishes and plays what, and which error a
//! request gets. No sockets, no clocks, no tasks.
//!
//! # Contract
//! The driver feeds inputs and then drains outputs until there are none:
//! - [`Core::open_session`] / [`Core::close_session`] when a WebSocket comes and goes,
//! - [`Core::handle_message`] for every parsed client frame, in arrival order,
//! - [`Core::handle_media_event`] for what the media layer reports,
//! - [`Core::poll_output`] until it returns `None`: frames to send
//!   ([`Output::Send`]), work for the media layer ([`Output::Media`]) and sessions to
//!   close ([`Output::CloseSession`]).
//!
//! Every input takes `now`; the core never reads a clock, so tests run scenarios
//! faster than real time.

mod admin;
mod broadcast;
mod census;
mod data;
mod ids;
mod live;
mod media_api;
mod negotiate;
mod p2p;
mod play;
mod publish;
mod quality;
mod query;
mod registry;
mod room;
mod session;
mod settings;
mod state;
mod stop;
mod timers;
mod tracks;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Instant;

use tern_signal::{ClientMessage, ErrorDef, ParseError, ServerMessage};

pub use census::AppCensus;
pub use ids::{PeerId, SessionId, StreamKey};
pub use live::{LiveStream, PlayerStats};
pub use media_api::{
    LocalCandidates, MediaCommand, MediaEvent, MediaProfile, PeerQuality, PeerRole, PlayerData,
    SdpFailure, Source,
};
pub use play::PlayError;
pub use publish::PublishError;
pub use registry::{OpenRegistry, Refusal, Registry, StreamEvent};
pub use settings::{default_visibility, AppSettings};

use state::State;

/// A side effect for the driver to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send one frame to one session.
    Send { to: SessionId, msg: ServerMessage },
    /// Ask the media layer to do something; it answers with [`MediaEvent`]s.
    Media(MediaCommand),
    /// Close a session's socket with a reason a person can read.
    CloseSession { session: SessionId, reason: String },
    /// Nothing but its socket shows this session is still there (a peer-to-peer
    /// call carries no media through the server): the driver pings it and closes
    /// it once it stops answering, which counts as the socket closing.
    WatchSocket { session: SessionId },
}

/// The session logic of one Tern node.
pub struct Core {
    state: State,
    out: VecDeque<Output>,
    registry: Box<dyn Registry>,
}

impl Default for Core {
    fn default() -> Self {
        Self::new()
    }
}

impl Core {
    /// A core that allows every request.
    pub fn new() -> Self {
        Self::with_registry(Box::new(OpenRegistry))
    }

    /// A core that consults `registry` before accepting publish and play.
    pub fn with_registry(registry: Box<dyn Registry>) -> Self {
        Core {
            state: State::default(),
            out: VecDeque::new(),
            registry,
        }
    }

    /// Seeds the generator of server-made ids (randomness is an input).
    pub fn seed(&mut self, seed: u64) {
        self.state.rng = seed;
    }

    /// Next side effect, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front().or_else(|| {
            // After what was queued for them, such as `publish_finished`.
            let session = loop {
                let s = self.state.headless_done.pop()?;
                // A dropped WHIP publisher stays for its restore window: a
                // DELETE then still ends the stream at once.
                let waiting = self
                    .state
                    .streams
                    .values()
                    .any(|st| st.orphaned_by == Some(s));
                let idle = self
                    .state
                    .sessions
                    .get(&s)
                    .is_some_and(|x| x.headless && x.peers.is_empty());
                if idle && !waiting {
                    break s;
                }
            };
            Some(Output::CloseSession {
                session,
                reason: "its peer ended".into(),
            })
        })
    }

    /// A frame that did not parse: answer with the error it calls for.
    pub fn handle_parse_error(&mut self, _now: Instant, session: SessionId, err: ParseError) {
        let msg = match err {
            ParseError::Malformed { reason } => {
                ServerMessage::error(ErrorDef::MalformedMessage, None).with("information", reason)
            }
            ParseError::MissingStreamId { .. } => {
                ServerMessage::error(ErrorDef::NoStreamNameSpecified, None)
            }
            ParseError::InvalidStreamId { stream_id, .. } => {
                ServerMessage::error(ErrorDef::InvalidStreamName, Some(&stream_id))
            }
            ParseError::BadField {
                command,
                stream_id,
                field,
            } => ServerMessage::error(ErrorDef::MalformedMessage, Some(&stream_id)).with(
                "information",
                format!("{command} needs a valid \"{field}\" field"),
            ),
        };
        self.send(session, msg);
    }

    /// One parsed client frame of `session`.
    pub fn handle_message(&mut self, now: Instant, session: SessionId, msg: ClientMessage) {
        if !self.state.sessions.contains_key(&session) {
            return;
        }
        match msg {
            ClientMessage::Ping => self.send(session, ServerMessage::Pong),
            ClientMessage::GetIceServerConfig => self.ice_server_config(session),
            ClientMessage::Publish(p) => self.publish(now, session, p),
            ClientMessage::Play(p) => self.play(now, session, p),
            ClientMessage::TakeConfiguration {
                stream_id,
                kind,
                sdp,
            } => {
                if !self.relay_sdp(session, &stream_id, kind, &sdp) {
                    self.take_configuration(session, &stream_id, kind, sdp);
                }
            }
            ClientMessage::TakeCandidate(c) => {
                if !self.relay_candidate(session, &c) {
                    self.take_candidate(session, c);
                }
            }
            ClientMessage::Stop { stream_id } => self.stop(now, session, &stream_id),
            ClientMessage::GetStreamInfo { stream_id } => self.stream_info(session, &stream_id),
            ClientMessage::Join {
                stream_id,
                play_only,
            } => self.join(session, &stream_id, play_only),
            ClientMessage::Leave { stream_id } => self.leave(session, &stream_id, true),
            ClientMessage::PeerMessage { stream_id, raw } => {
                self.peer_message(session, &stream_id, raw)
            }
            ClientMessage::JoinRoom(req) => self.join_room(session, req),
            ClientMessage::LeaveFromRoom { room, .. } => self.leave_room(now, session, room),
            ClientMessage::GetRoomInfo { room, stream_id } => {
                self.room_info(session, room, stream_id)
            }
            ClientMessage::GetTrackList { stream_id } => self.track_list(session, &stream_id),
            ClientMessage::EnableTrack {
                stream_id,
                track_id,
                enabled,
            } => self.enable_track(session, &stream_id, &track_id, enabled),
            ClientMessage::Toggle {
                stream_id,
                track_id,
                video,
                enabled,
            } => self.toggle(session, &stream_id, &track_id, video, enabled),
            ClientMessage::GetBroadcastObject { stream_id } => {
                self.broadcast_object(session, &stream_id)
            }
            ClientMessage::GetSubtracks {
                stream_id,
                role,
                offset,
                size,
            } => self.get_subtracks(session, &stream_id, role.as_deref(), offset, size),
            ClientMessage::GetSubtracksCount {
                stream_id,
                role,
                status,
            } => self.subtracks_count(session, &stream_id, role.as_deref(), status.as_deref()),
            ClientMessage::GetSubscriberCount { stream_id } => {
                self.subscriber_count(session, &stream_id)
            }
            ClientMessage::ForceStreamQuality { stream_id, height } => {
                self.force_quality(session, &stream_id, height)
            }
            ClientMessage::UpdateStreamMetaData {
                stream_id,
                meta_data,
            } => self.update_meta_data(session, &stream_id, meta_data),
            ClientMessage::Unknown { command } => {
                tracing::debug!(%session, command, "ignoring unknown command");
            }
        }
    }

    fn send(&mut self, to: SessionId, msg: ServerMessage) {
        self.out.push_back(Output::Send { to, msg });
    }

    fn media(&mut self, cmd: MediaCommand) {
        self.out.push_back(Output::Media(cmd));
    }

    /// Number of live sessions, peers and streams (for health and tests).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.state.sessions.len(),
            self.state.peers.len(),
            self.state.streams.len(),
        )
    }
}
