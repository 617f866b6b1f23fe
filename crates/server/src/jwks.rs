//! The JWKS of each app that sets `jwksURL`, kept in memory.
//!
//! A set is fetched in the background when the setting appears or changes and
//! again every [`REFRESH`], so that checking a token never waits on the
//! network: it uses the set last fetched (none until the first fetch lands). A
//! failed fetch is logged and the last good set stays in use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_auth::jwt::JwkSet;
use tokio::task::AbortHandle;

/// How often a set is fetched again (identity providers rotate keys with
/// overlap of hours to days).
pub const REFRESH: Duration = Duration::from_secs(600);
/// One fetch, connection to last byte.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A JWKS is a few kilobytes; anything past this is not one.
const MAX_BYTES: usize = 1 << 20;

#[derive(Clone, Default)]
pub struct JwksCache {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

struct Entry {
    url: String,
    set: Option<Arc<JwkSet>>,
    task: Option<AbortHandle>,
}

impl JwksCache {
    /// The set last fetched for `app` from `url`; none while the first fetch is
    /// under way or failed, or when the app's URL has changed since.
    pub fn get(&self, app: &str, url: &str) -> Option<Arc<JwkSet>> {
        let map = self.lock();
        let entry = map.get(app)?;
        (entry.url == url).then(|| entry.set.clone()).flatten()
    }

    /// Keeps `app`'s set fetched from `url`: starts fetching when the URL is
    /// new or changed (dropping the old set), stops when it is empty. Outside a
    /// Tokio runtime nothing is fetched.
    pub fn watch(&self, app: &str, url: &str) {
        let mut map = self.lock();
        if map.get(app).is_some_and(|e| e.url == url) {
            return;
        }
        if let Some(old) = map.remove(app) {
            if let Some(task) = old.task {
                task.abort();
            }
        }
        if url.is_empty() {
            return;
        }
        let task = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let cache = self.clone();
            let (app, url) = (app.to_owned(), url.to_owned());
            rt.spawn(async move { cache.keep_fetching(app, url).await })
                .abort_handle()
        });
        map.insert(
            app.to_owned(),
            Entry {
                url: url.to_owned(),
                set: None,
                task,
            },
        );
    }

    async fn keep_fetching(self, app: String, url: String) {
        let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(app, error = %e, "cannot make the HTTP client that fetches jwksURL");
                return;
            }
        };
        loop {
            self.refresh(&client, &app, &url).await;
            tokio::time::sleep(REFRESH).await;
        }
    }

    /// One fetch: a good set replaces the one in use, a failure keeps it.
    async fn refresh(&self, client: &reqwest::Client, app: &str, url: &str) {
        match fetch(client, url).await {
            Ok(set) => {
                tracing::info!(app, url, keys = set.keys.len(), "JWKS fetched");
                if let Some(entry) = self.lock().get_mut(app).filter(|e| e.url == url) {
                    entry.set = Some(Arc::new(set));
                }
            }
            Err(why) => {
                tracing::warn!(
                    app,
                    url,
                    why,
                    "JWKS fetch failed; the last good set stays in use"
                );
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Entries are replaced whole, so a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
    let mut res = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("answered {}", res.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(format!("larger than {MAX_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SET: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"AA","y":"AA"}]}"#;

    /// Answers each connection with the next of `replies`.
    async fn serve(replies: Vec<String>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move {
            for reply in replies {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        url
    }

    fn reply(status: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn a_failed_fetch_keeps_the_last_good_set() {
        let url = serve(vec![
            reply("200 OK", SET),
            reply("500 Internal Server Error", ""),
            reply("200 OK", "not json"),
            reply("200 OK", r#"{"keys":[]}"#),
        ])
        .await;
        let cache = JwksCache::default();
        // Registered by hand so that no background task races the test.
        cache.lock().insert(
            "A".into(),
            Entry {
                url: url.clone(),
                set: None,
                task: None,
            },
        );
        let client = reqwest::Client::new();
        assert!(cache.get("A", &url).is_none());
        cache.refresh(&client, "A", &url).await;
        assert_eq!(cache.get("A", &url).unwrap().keys.len(), 1);
        for _ in 0..2 {
            cache.refresh(&client, "A", &url).await;
            assert_eq!(cache.get("A", &url).unwrap().keys.len(), 1);
        }
        // A good (if empty) set replaces it; another URL sees nothing.
        cache.refresh(&client, "A", &url).await;
        assert_eq!(cache.get("A", &url).unwrap().keys.len(), 0);
        assert!(cache.get("A", "http://elsewhere/").is_none());
    }

    #[tokio::test]
    async fn watch_fetches_at_once_and_forgets_on_change() {
        let url = serve(vec![reply("200 OK", SET)]).await;
        let cache = JwksCache::default();
        cache.watch("A", &url);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while cache.get("A", &url).is_none() {
            assert!(std::time::Instant::now() < deadline, "never fetched");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cache.watch("A", "");
        assert!(cache.get("A", &url).is_none());
    }
}
