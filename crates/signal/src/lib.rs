//! Tern's wire: the Ant Media–compatible WebSocket signaling of `PROTOCOL.md`.
//!
//! No I/O lives here. [`parse`] turns one text frame into a [`ClientMessage`] (or a
//! [`ParseError`] that says which error reply, if any, the client gets);
//! [`ServerMessage::to_json`] renders what the server sends. Every `definition`
//! string that reaches a client is in [`definition`], the one table of wire strings.

pub mod client;
pub mod definition;
mod fields;
pub mod sdpfrag;
pub mod server;
pub mod stream_id;

pub use client::{
    parse, ClientMessage, JoinRoom, ParseError, Play, Publish, SdpKind, TakeCandidate,
};
pub use definition::{ChannelEvent, ErrorDef, NotificationDef};
pub use server::{IceServer, IceServers, ServerMessage, StreamInfo};
