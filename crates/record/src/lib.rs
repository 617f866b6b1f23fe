//! Recordings of Tern's streams (issue #17), without transcoding: the frames a
//! stream's frame tap gives are written as fragmented MP4 while the stream
//! runs (`fmp4`), so a crash leaves a file playable up to its last fragment,
//! and rewritten as a fast-start MP4 when it ends (`progressive`). The
//! `recorder` decides tracks, times and fragments; callers do the file IO.

pub mod fmp4;
pub mod h264;
pub mod hls_names;
pub mod progressive;
pub mod recorder;
mod recorder_track;
pub mod recover;
pub mod tracks;
pub mod webm;

pub use fmp4::Mp4Error;
pub use recorder::{Container, FastStart, Recorder, Skipped};
