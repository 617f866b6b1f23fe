//! RTP as the fast path handles it: the packet a source hands its sinks, what
//! a payload says without depacketizing, and the per-player rewriting that
//! keeps numbering and time continuous.

pub mod codec_info;
pub mod packet;
pub mod packet_info;
pub mod rewrite;
pub mod timeline;
