//! The names of a live stream's HLS files and what a player's request for
//! one says: `{id}.m3u8`, `{id}_init.mp4`, `{id}_{n}.m4s` and, in
//! low-latency HLS, parts `{id}_{n}.{p}.m4s`, with a blocking playlist
//! reload's `_HLS_msn` and `_HLS_part` (RFC 8216bis §6.2.5.2). Names are
//! made and read here only, so the two always agree.

/// One file of a stream's HLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HlsFile {
    Playlist,
    Init,
    /// Media sequence number.
    Segment(u64),
    /// Segment and part index within it.
    Part(u64, u64),
}

impl HlsFile {
    /// Its name for stream `id`.
    pub fn name(self, id: &str) -> String {
        match self {
            HlsFile::Playlist => format!("{id}.m3u8"),
            HlsFile::Init => format!("{id}_init.mp4"),
            HlsFile::Segment(n) => format!("{id}_{n}.m4s"),
            HlsFile::Part(n, p) => format!("{id}_{n}.{p}.m4s"),
        }
    }

    /// The stream id and the file, if `name` is a live HLS file's name.
    pub fn parse(name: &str) -> Option<(&str, HlsFile)> {
        if let Some(id) = name.strip_suffix(".m3u8") {
            return Some((id, HlsFile::Playlist));
        }
        if let Some(id) = name.strip_suffix("_init.mp4") {
            return Some((id, HlsFile::Init));
        }
        let (id, seq) = name.strip_suffix(".m4s")?.rsplit_once('_')?;
        match seq.split_once('.') {
            Some((n, p)) => Some((id, HlsFile::Part(n.parse().ok()?, p.parse().ok()?))),
            None => Some((id, HlsFile::Segment(seq.parse().ok()?))),
        }
    }
}

/// Why a blocking reload's query was refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadReload {
    /// `_HLS_msn` or `_HLS_part` is not a number.
    NotANumber,
    /// `_HLS_part` without `_HLS_msn`.
    PartWithoutMsn,
}

impl std::fmt::Display for BadReload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadReload::NotANumber => write!(f, "bad _HLS_msn or _HLS_part"),
            BadReload::PartWithoutMsn => write!(f, "_HLS_part without _HLS_msn"),
        }
    }
}

impl std::error::Error for BadReload {}

/// A playlist request's `_HLS_msn` and `_HLS_part`, if it asks for a
/// blocking reload; other parameters (`_HLS_skip`, a cache buster) are left
/// alone.
pub fn blocking_reload(query: Option<&str>) -> Result<Option<(u64, Option<u64>)>, BadReload> {
    let (mut msn, mut part) = (None, None);
    let number = |v: &str| v.parse::<u64>().map_err(|_| BadReload::NotANumber);
    for pair in query.unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("_HLS_msn", v)) => msn = Some(number(v)?),
            Some(("_HLS_part", v)) => part = Some(number(v)?),
            _ => {}
        }
    }
    match (msn, part) {
        (None, Some(_)) => Err(BadReload::PartWithoutMsn),
        (None, None) => Ok(None),
        (Some(m), p) => Ok(Some((m, p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_what_made_them() {
        for f in [
            HlsFile::Playlist,
            HlsFile::Init,
            HlsFile::Segment(12),
            HlsFile::Part(12, 3),
        ] {
            assert_eq!(HlsFile::parse(&f.name("a_b")), Some(("a_b", f)));
        }
        assert_eq!(HlsFile::parse("a_b_x.m4s"), None);
        assert_eq!(HlsFile::parse("a_b_1.x.m4s"), None);
        assert_eq!(HlsFile::parse("a_b.mp4"), None);
    }

    #[test]
    fn blocking_reload_queries() {
        assert_eq!(blocking_reload(None), Ok(None));
        assert_eq!(blocking_reload(Some("_HLS_msn=5")), Ok(Some((5, None))));
        assert_eq!(
            blocking_reload(Some("_HLS_msn=5&_HLS_part=2&_HLS_skip=YES")),
            Ok(Some((5, Some(2))))
        );
        assert_eq!(
            blocking_reload(Some("_HLS_part=2")),
            Err(BadReload::PartWithoutMsn)
        );
        assert_eq!(
            blocking_reload(Some("_HLS_msn=-1")),
            Err(BadReload::NotANumber)
        );
    }
}
