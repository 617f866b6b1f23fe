//! The browser SDK (`sdk/src`) and sample pages (`sdk/samples`), embedded in the
//! binary so a deployment is one file. `TERN_SDK_DIR` serves them from disk
//! instead, for SDK development without rebuilding the server.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};

// Only what pages load: not the SDK's tests, tooling or node_modules.
static SDK_SRC: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/src");
static SDK_SAMPLES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/samples");
static SDK_CONSOLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/console");

#[derive(Debug, Clone)]
pub enum Assets {
    Embedded,
    Disk(PathBuf),
}

impl Assets {
    pub fn from_env() -> Self {
        match std::env::var_os("TERN_SDK_DIR") {
            Some(dir) if !dir.is_empty() => Assets::Disk(PathBuf::from(dir)),
            _ => Assets::Embedded,
        }
    }

    /// `path` is relative to `sdk/`; anything that climbs out is refused.
    fn read(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        let rel = Path::new(path);
        if path.contains('\\') || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return None;
        }
        match self {
            Assets::Embedded => {
                let (dir, inner) = if let Ok(inner) = rel.strip_prefix("src") {
                    (&SDK_SRC, inner)
                } else if let Ok(inner) = rel.strip_prefix("console") {
                    (&SDK_CONSOLE, inner)
                } else {
                    (&SDK_SAMPLES, rel.strip_prefix("samples").ok()?)
                };
                dir.get_file(inner).map(|f| Cow::Borrowed(f.contents()))
            }
            Assets::Disk(root) => std::fs::read(root.join(rel)).ok().map(Cow::Owned),
        }
    }

    /// A response for `sdk/<path>`, or 404.
    pub fn respond(&self, path: &str) -> Response {
        match self.read(path) {
            Some(body) => {
                let mime = mime_guess::from_path(path).first_or_octet_stream();
                (
                    [
                        (header::CONTENT_TYPE, mime.essence_str().to_owned()),
                        (header::CACHE_CONTROL, "no-cache".to_owned()),
                    ],
                    body,
                )
                    .into_response()
            }
            None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape() {
        let a = Assets::Embedded;
        for bad in ["../Cargo.toml", "/etc/passwd", "src/../../x", "a\\b", ""] {
            assert!(a.read(bad).is_none(), "{bad}");
        }
        assert!(
            a.read("package.json").is_none(),
            "only src/ and samples/ are served"
        );
        assert!(a.read("src/webrtc_adaptor.js").is_some());
        assert!(a.read("samples/index.html").is_some());
    }
}
