//! HLS files on disk, beside the recordings, for the two settings that need
//! more than the live window in memory: `hlsPlayListType = "event"` (the
//! playlist lists every segment from the start; those that left memory are
//! read from here) and `deleteHLSFilesOnEnded = false` (the stream stays
//! playable as HLS VoD after it ends: a playlist with `#EXT-X-ENDLIST`).
//! Written on the HLS thread; a write error ends the writing with an error in
//! the log, and the live HLS goes on from memory.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use tern_record::hls_names::HlsFile;

pub struct HlsDisk {
    dir: PathBuf,
    id: String,
    /// Every segment written: sequence number and length in ms.
    written: Vec<(u64, u64)>,
    /// Keep the files when the stream ends (else they go).
    keep: bool,
    failed: bool,
}

impl HlsDisk {
    pub fn new(dir: PathBuf, id: &str, keep: bool) -> Self {
        HlsDisk {
            dir,
            id: id.to_owned(),
            written: Vec::new(),
            keep,
            failed: false,
        }
    }

    fn write(&mut self, name: &str, data: &[u8]) {
        if self.failed {
            return;
        }
        let result = std::fs::create_dir_all(&self.dir)
            .and_then(|()| write_whole(&self.dir.join(name), data));
        if let Err(e) = result {
            tracing::error!(stream = self.id, dir = %self.dir.display(), "HLS files are no longer written: {e}");
            self.failed = true;
        }
    }

    pub fn init(&mut self, data: &[u8]) {
        let name = HlsFile::Init.name(&self.id);
        self.write(&name, data);
    }

    pub fn segment(&mut self, seq: u64, duration_ms: u64, data: &[u8]) {
        let name = HlsFile::Segment(seq).name(&self.id);
        self.write(&name, data);
        if !self.failed {
            self.written.push((seq, duration_ms));
        }
    }

    /// The stream ended: a VoD playlist of every segment, or no files.
    pub fn finish(mut self) {
        if !self.keep {
            let mut names = vec![HlsFile::Init.name(&self.id)];
            names.extend(
                self.written
                    .iter()
                    .map(|(s, _)| HlsFile::Segment(*s).name(&self.id)),
            );
            for n in names {
                let _ = std::fs::remove_file(self.dir.join(n));
            }
            return;
        }
        if self.written.is_empty() {
            return;
        }
        let text = vod_playlist(&self.id, &self.written);
        let name = HlsFile::Playlist.name(&self.id);
        self.write(&name, text.as_bytes());
        if !self.failed {
            tracing::info!(
                stream = self.id,
                segments = self.written.len(),
                "HLS kept as VoD"
            );
        }
    }
}

/// Writes through a temporary name, so a reader never sees half a file.
fn write_whole(path: &std::path::Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// The playlist of a finished stream (RFC 8216 VOD).
pub fn vod_playlist(id: &str, segments: &[(u64, u64)]) -> String {
    let target = segments
        .iter()
        .map(|(_, ms)| ms.div_ceil(1000))
        .max()
        .unwrap_or(1);
    let first = segments.first().map_or(0, |s| s.0);
    let mut t = format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"{}\"\n",
        HlsFile::Init.name(id)
    );
    for (seq, ms) in segments {
        let segment = HlsFile::Segment(*seq).name(id);
        let _ = writeln!(t, "#EXTINF:{}.{:03},\n{segment}", ms / 1000, ms % 1000);
    }
    t.push_str("#EXT-X-ENDLIST\n");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_files_become_a_vod_and_others_go() {
        let dir = std::env::temp_dir().join(format!("tern-hls-disk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut kept = HlsDisk::new(dir.clone(), "a", true);
        kept.init(b"init");
        kept.segment(0, 2000, b"s0");
        kept.segment(1, 1500, b"s1");
        kept.finish();
        let text = std::fs::read_to_string(dir.join("a.m3u8")).unwrap();
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n\
             #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"a_init.mp4\"\n\
             #EXTINF:2.000,\na_0.m4s\n#EXTINF:1.500,\na_1.m4s\n#EXT-X-ENDLIST\n"
        );
        assert_eq!(std::fs::read(dir.join("a_1.m4s")).unwrap(), b"s1");
        let mut gone = HlsDisk::new(dir.clone(), "b", false);
        gone.init(b"init");
        gone.segment(0, 2000, b"s0");
        assert!(dir.join("b_0.m4s").exists());
        gone.finish();
        assert!(!dir.join("b_0.m4s").exists() && !dir.join("b_init.mp4").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
