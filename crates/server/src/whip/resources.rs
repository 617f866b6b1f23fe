//! The live WHIP/WHEP session resources, by id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::distr::{Alphanumeric, SampleString};
use tern_core::SessionId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Whip,
    Whep,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Whip => "whip",
            Kind::Whep => "whep",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub kind: Kind,
    pub app: String,
    pub stream: String,
    pub session: SessionId,
    /// The session's entity tag (RFC 9725 §4.3), without quotes.
    pub etag: String,
    /// The client's ICE username fragment in its offer: a PATCH with another
    /// one is an ICE restart.
    pub ufrag: Option<String>,
}

impl Resource {
    pub fn new(kind: Kind, app: &str, stream: &str, session: SessionId, offer: &str) -> Self {
        let mut rng = rand::rng();
        Resource {
            id: Alphanumeric.sample_string(&mut rng, 24),
            kind,
            app: app.to_owned(),
            stream: stream.to_owned(),
            session,
            etag: Alphanumeric.sample_string(&mut rng, 16),
            ufrag: offer
                .lines()
                .find_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
                .map(str::to_owned),
        }
    }

    /// Its absolute path, for `Location`.
    pub fn location(&self) -> String {
        format!(
            "/{}/{}/{}/{}",
            self.app,
            self.kind.name(),
            urlencoding(&self.stream),
            self.id
        )
    }
}

/// Stream ids are `[A-Za-z0-9_-]` (signal::stream_id); anything else is
/// escaped so the path stays one segment.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Clone, Default)]
pub struct Resources(Arc<Mutex<HashMap<String, Resource>>>);

impl Resources {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Resource>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, r: Resource) {
        self.lock().insert(r.id.clone(), r);
    }

    pub fn get(&self, id: &str) -> Option<Resource> {
        self.lock().get(id).cloned()
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}
