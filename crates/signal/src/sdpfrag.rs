//! `application/trickle-ice-sdpfrag` bodies (RFC 8840) that WHIP and WHEP
//! clients PATCH: their ICE credentials and candidates, each with its m-line.

/// What a fragment carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdpFrag {
    pub ufrag: Option<String>,
    pub pwd: Option<String>,
    pub candidates: Vec<FragCandidate>,
    pub end_of_candidates: bool,
}

/// One candidate, as `candidate:…` (no `a=`), and the `a=mid` above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragCandidate {
    pub mid: Option<String>,
    pub candidate: String,
}

/// Why a fragment was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpFragError {
    /// More candidates than any one client gathers.
    TooManyCandidates,
    /// A candidate line without its fields (foundation … type).
    BadCandidate(String),
}

impl std::fmt::Display for SdpFragError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SdpFragError::TooManyCandidates => {
                write!(f, "more than {MAX_CANDIDATES} candidates in one fragment")
            }
            SdpFragError::BadCandidate(l) => write!(f, "not a candidate line: {l:?}"),
        }
    }
}

/// Enough for every interface and transport a client has.
pub const MAX_CANDIDATES: usize = 64;

/// Reads a fragment; lines it does not need (`a=group`, `a=ice-options`, …)
/// are skipped.
pub fn parse_sdpfrag(body: &str) -> Result<SdpFrag, SdpFragError> {
    let mut frag = SdpFrag::default();
    let mut mid = None;
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("m=") {
            mid = None;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m.to_owned());
        } else if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
            frag.ufrag = Some(u.to_owned());
        } else if let Some(p) = line.strip_prefix("a=ice-pwd:") {
            frag.pwd = Some(p.to_owned());
        } else if line == "a=end-of-candidates" {
            frag.end_of_candidates = true;
        } else if let Some(c) = line.strip_prefix("a=") {
            if !c.starts_with("candidate:") {
                continue;
            }
            // foundation component transport priority address port "typ" type
            if c.split_whitespace().count() < 8 {
                return Err(SdpFragError::BadCandidate(c.chars().take(80).collect()));
            }
            if frag.candidates.len() == MAX_CANDIDATES {
                return Err(SdpFragError::TooManyCandidates);
            }
            frag.candidates.push(FragCandidate {
                mid: mid.clone(),
                candidate: c.to_owned(),
            });
        }
    }
    Ok(frag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_credentials_candidates_and_their_mids() {
        let body = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=group:BUNDLE 0 1\r\n\
                    m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                    a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n\
                    a=end-of-candidates\r\n";
        let f = parse_sdpfrag(body).unwrap();
        assert_eq!(f.ufrag.as_deref(), Some("EsAw"));
        assert_eq!(f.pwd.as_deref(), Some("P2uYro0UCOQ4zxjKXaWCBui1"));
        assert!(f.end_of_candidates);
        assert_eq!(
            f.candidates,
            [FragCandidate {
                mid: Some("0".into()),
                candidate:
                    "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0"
                        .into()
            }]
        );
    }

    #[test]
    fn a_truncated_candidate_is_refused() {
        let e = parse_sdpfrag("a=candidate:1 1 udp 5\r\n").unwrap_err();
        assert!(matches!(e, SdpFragError::BadCandidate(_)));
    }

    #[test]
    fn too_many_candidates_are_refused() {
        let line = "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\n";
        assert_eq!(
            parse_sdpfrag(&line.repeat(MAX_CANDIDATES + 1)),
            Err(SdpFragError::TooManyCandidates)
        );
        assert!(parse_sdpfrag(&line.repeat(MAX_CANDIDATES)).is_ok());
    }
}
