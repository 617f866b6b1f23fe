//! A live HLS stream in memory: its init segment, its segments (each made of
//! parts in low-latency mode), the media playlist (RFC 8216, with the
//! low-latency tags of its second edition) and who is watching. The HLS
//! thread fills it; the HTTP handlers read it and wait on `changed` for a
//! part or segment that is not there yet (blocking playlist reload,
//! preload hints).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_record::hls_names::HlsFile;
use tokio::sync::Notify;

/// Parts are listed for this many of the newest segments (players at the
/// live edge need only the last ones).
const SEGMENTS_WITH_PARTS: usize = 3;

#[derive(Clone)]
pub struct Part {
    pub duration_ms: u64,
    /// Starts with a keyframe.
    pub independent: bool,
    pub data: Arc<[u8]>,
}

pub struct Segment {
    pub seq: u64,
    pub duration_ms: u64,
    pub data: Arc<[u8]>,
    /// Its parts, while it is among the newest (low-latency mode).
    pub parts: Vec<Part>,
}

/// What the playlist and its files are made of.
pub struct Playlist {
    pub init: Option<Arc<[u8]>>,
    pub segments: VecDeque<Segment>,
    /// Parts of the segment being made (low-latency mode).
    open: Vec<Part>,
    /// The media sequence number of the segment being made.
    next_seq: u64,
    /// Low-latency mode: the part target.
    part_target_ms: Option<u64>,
    list_size: usize,
    target_s: u64,
    /// When each viewer (a hash of its address and user agent) last fetched
    /// a segment or a part.
    viewers: HashMap<u64, Instant>,
    /// Told of every new part and segment.
    pub changed: Arc<Notify>,
    /// An EVENT playlist (`hlsPlayListType = "event"`): every segment since
    /// the start, sequence number and length; those no longer in memory are
    /// on disk.
    history: Option<Vec<(u64, u64)>>,
}

impl Playlist {
    /// A playlist of `list_size` segments of about `hls_time` seconds; with
    /// `part_target`, a low-latency one.
    pub fn new(list_size: u32, hls_time: u32, part_target: Option<Duration>, event: bool) -> Self {
        Playlist {
            init: None,
            segments: VecDeque::new(),
            open: Vec::new(),
            next_seq: 0,
            part_target_ms: part_target.map(|d| d.as_millis() as u64),
            list_size: list_size.max(1) as usize,
            target_s: hls_time.max(1) as u64,
            viewers: HashMap::new(),
            changed: Arc::new(Notify::new()),
            history: event.then(Vec::new),
        }
    }

    pub fn is_low_latency(&self) -> bool {
        self.part_target_ms.is_some()
    }

    /// A viewer counts while it fetched a segment within three segment
    /// lengths (at least 6 s): players fetch one per segment length.
    fn viewer_window(&self) -> Duration {
        Duration::from_secs((self.target_s * 3).max(6))
    }

    /// Viewer `who` fetched a segment or a part.
    pub fn seen(&mut self, who: u64, now: Instant) {
        let window = self.viewer_window();
        self.viewers
            .retain(|_, at| now.saturating_duration_since(*at) < window);
        self.viewers.insert(who, now);
    }

    /// Viewers now (`hlsViewerCount`).
    pub fn viewers(&self, now: Instant) -> usize {
        let window = self.viewer_window();
        self.viewers
            .values()
            .filter(|at| now.saturating_duration_since(**at) < window)
            .count()
    }

    /// Media of the open segment so far, in ms.
    pub fn open_ms(&self) -> u64 {
        self.open.iter().map(|p| p.duration_ms).sum()
    }

    /// A part of the segment being made.
    pub fn push_part(&mut self, duration_ms: u64, independent: bool, data: Vec<u8>) {
        self.open.push(Part {
            duration_ms,
            independent,
            data: data.into(),
        });
        self.changed.notify_waiters();
    }

    /// The segment being made is complete: its parts become one segment.
    pub fn close_segment(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let parts = std::mem::take(&mut self.open);
        let duration_ms = parts.iter().map(|p| p.duration_ms).sum();
        let data: Vec<u8> = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
        self.segments.push_back(Segment {
            seq: self.next_seq,
            duration_ms,
            data: data.into(),
            parts: if self.is_low_latency() {
                parts
            } else {
                Vec::new()
            },
        });
        if let Some(h) = &mut self.history {
            h.push((self.next_seq, duration_ms));
        }
        self.next_seq += 1;
        // Two more than listed stay, for players that read the playlist
        // just before it moved on.
        while self.segments.len() > self.list_size + 2 {
            self.segments.pop_front();
        }
        let keep = self.segments.len().saturating_sub(SEGMENTS_WITH_PARTS);
        for s in self.segments.iter_mut().take(keep) {
            s.parts = Vec::new();
        }
        self.target_s = self.target_s.max(duration_ms.div_ceil(1000));
        self.changed.notify_waiters();
    }

    /// Whether the playlist has segment `msn` (complete), or its part
    /// `part`: what a blocking reload waits for.
    pub fn has(&self, msn: u64, part: Option<u64>) -> bool {
        match part {
            _ if msn < self.next_seq => true,
            Some(p) if msn == self.next_seq => (p as usize) < self.open.len(),
            _ => false,
        }
    }

    /// How long a request waits for a part or segment: three target
    /// durations.
    pub fn patience(&self) -> Duration {
        Duration::from_secs(self.target_s * 3)
    }

    /// The media sequence number a blocking reload may ask for at most:
    /// further ahead is a bad request (the spec's two segments).
    pub fn max_msn(&self) -> u64 {
        self.next_seq + 2
    }

    /// Seconds with milliseconds, as playlists write durations.
    fn secs(ms: u64) -> String {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }

    fn write_parts(t: &mut String, id: &str, seq: u64, parts: &[Part]) {
        for (i, p) in parts.iter().enumerate() {
            let _ = writeln!(
                t,
                "#EXT-X-PART:DURATION={},URI=\"{}\"{}",
                Self::secs(p.duration_ms),
                HlsFile::Part(seq, i as u64).name(id),
                if p.independent {
                    ",INDEPENDENT=YES"
                } else {
                    ""
                }
            );
        }
    }

    /// The media playlist (version 7 for fMP4; 9 with low-latency tags).
    pub fn text(&self, id: &str) -> Option<String> {
        self.init.as_ref()?;
        // (sequence number, length, parts) of each segment listed.
        let listed: Vec<(u64, u64, &[Part])> = match &self.history {
            Some(h) => h
                .iter()
                .map(|&(seq, ms)| {
                    let parts = self.segments.iter().find(|s| s.seq == seq);
                    (seq, ms, parts.map_or(&[][..], |s| &s.parts[..]))
                })
                .collect(),
            None => {
                let skip = self.segments.len().saturating_sub(self.list_size);
                self.segments
                    .iter()
                    .skip(skip)
                    .map(|s| (s.seq, s.duration_ms, &s.parts[..]))
                    .collect()
            }
        };
        let first = listed.first()?.0;
        let mut t = String::new();
        let version = if self.is_low_latency() { 9 } else { 7 };
        let _ = write!(
            t,
            "#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-TARGETDURATION:{}\n",
            self.target_s
        );
        if self.history.is_some() {
            t.push_str("#EXT-X-PLAYLIST-TYPE:EVENT\n");
        }
        if let Some(part) = self.part_target_ms {
            // Parts run past the target by up to a frame: the target says so.
            let target = part + part / 4;
            let _ = write!(
                t,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}\n\
                 #EXT-X-PART-INF:PART-TARGET={}\n",
                Self::secs(target * 3),
                Self::secs(target)
            );
        }
        let _ = write!(
            t,
            "#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"{}\"\n",
            HlsFile::Init.name(id)
        );
        for (seq, ms, parts) in listed {
            Self::write_parts(&mut t, id, seq, parts);
            let segment = HlsFile::Segment(seq).name(id);
            let _ = write!(t, "#EXTINF:{},\n{segment}\n", Self::secs(ms));
        }
        if self.is_low_latency() {
            Self::write_parts(&mut t, id, self.next_seq, &self.open);
            let _ = writeln!(
                t,
                "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"",
                HlsFile::Part(self.next_seq, self.open.len() as u64).name(id)
            );
        }
        Some(t)
    }

    pub fn segment(&self, seq: u64) -> Option<Arc<[u8]>> {
        self.segments
            .iter()
            .find(|s| s.seq == seq)
            .map(|s| s.data.clone())
    }

    pub fn part(&self, seq: u64, part: u64) -> Option<Arc<[u8]>> {
        let parts = if seq == self.next_seq {
            &self.open
        } else {
            &self.segments.iter().find(|s| s.seq == seq)?.parts
        };
        parts.get(part as usize).map(|p| p.data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(p: &mut Playlist, ms: u64, byte: u8) {
        p.push_part(ms, true, vec![byte; 10]);
        p.close_segment();
    }

    #[test]
    fn the_playlist_lists_the_newest_segments_with_their_lengths() {
        let mut p = Playlist::new(3, 2, None, false);
        assert_eq!(p.text("s"), None, "nothing before the init segment");
        p.init = Some(Arc::from(&b"init"[..]));
        for (seq, ms) in [(0, 2000), (1, 2100), (2, 1950), (3, 3500), (4, 2000)] {
            segment(&mut p, ms, seq as u8);
        }
        let text = p.text("s").unwrap();
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:2\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"s_init.mp4\"\n\
             #EXTINF:1.950,\ns_2.m4s\n#EXTINF:3.500,\ns_3.m4s\n#EXTINF:2.000,\ns_4.m4s\n"
        );
        // Two segments more than listed stay for late readers; older ones go.
        assert!(p.segment(1).is_some() && p.segment(0).is_some());
        segment(&mut p, 2000, 5);
        assert!(p.segment(0).is_none() && p.segment(1).is_some());
    }

    #[test]
    fn low_latency_lists_parts_a_preload_hint_and_knows_what_it_has() {
        let mut p = Playlist::new(3, 1, Some(Duration::from_millis(200)), false);
        p.init = Some(Arc::from(&b"init"[..]));
        for seg in 0..5u8 {
            for i in 0..5u8 {
                p.push_part(200, i == 0, vec![seg * 10 + i; 4]);
            }
            p.close_segment();
        }
        p.push_part(200, true, vec![50; 4]);
        p.push_part(210, false, vec![51; 4]);
        let text = p.text("s").unwrap();
        assert!(
            text.starts_with(
                "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n\
             #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.750\n\
             #EXT-X-PART-INF:PART-TARGET=0.250\n#EXT-X-MEDIA-SEQUENCE:2\n"
            ),
            "{text}"
        );
        // Parts of the three newest segments, then of the open one.
        assert!(!text.contains("URI=\"s_1.0.m4s\""));
        assert!(
            text.contains(
                "#EXT-X-PART:DURATION=0.200,URI=\"s_4.4.m4s\"\n#EXTINF:1.000,\ns_4.m4s\n\
             #EXT-X-PART:DURATION=0.200,URI=\"s_5.0.m4s\",INDEPENDENT=YES\n\
             #EXT-X-PART:DURATION=0.210,URI=\"s_5.1.m4s\"\n\
             #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s_5.2.m4s\"\n"
            ),
            "{text}"
        );
        assert!(text.contains("#EXT-X-PART:DURATION=0.200,URI=\"s_2.0.m4s\",INDEPENDENT=YES\n"));
        // A segment is its parts.
        let whole = p.segment(4).unwrap();
        assert_eq!(whole.len(), 20);
        assert_eq!(&whole[16..], &[44; 4]);
        assert_eq!(&*p.part(5, 1).unwrap(), &[51; 4]);
        assert!(p.part(5, 2).is_none() && p.part(1, 0).is_none());
        assert!(p.has(4, None) && p.has(4, Some(9)) && p.has(5, Some(1)));
        assert!(!p.has(5, Some(2)) && !p.has(5, None) && !p.has(6, Some(0)));
        assert_eq!(p.max_msn(), 7);
    }

    #[test]
    fn an_event_playlist_lists_every_segment_since_the_start() {
        let mut p = Playlist::new(2, 2, None, true);
        p.init = Some(Arc::from(&b"init"[..]));
        for seq in 0..6u8 {
            segment(&mut p, 2000, seq);
        }
        let text = p.text("s").unwrap();
        assert!(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n"), "{text}");
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:0\n"), "{text}");
        assert_eq!(text.matches("#EXTINF:2.000,").count(), 6);
        // Memory keeps the live window; older segments are read from disk.
        assert!(p.segment(0).is_none() && p.segment(5).is_some());
    }

    #[test]
    fn viewers_count_while_they_fetch_segments() {
        let t0 = Instant::now();
        let mut p = Playlist::new(5, 2, None, false);
        p.seen(1, t0);
        p.seen(2, t0);
        p.seen(1, t0 + Duration::from_secs(4));
        assert_eq!(p.viewers(t0 + Duration::from_secs(5)), 2);
        // Viewer 2 stopped fetching 6 s ago (three 2 s segments).
        assert_eq!(p.viewers(t0 + Duration::from_secs(7)), 1);
        assert_eq!(p.viewers(t0 + Duration::from_secs(11)), 0);
    }
}
