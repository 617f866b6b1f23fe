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
            match fetch(&client, &url).await {
                Ok(set) => {
                    tracing::info!(app, url, keys = set.keys.len(), "JWKS fetched");
                    if let Some(entry) = self.lock().get_mut(&app).filter(|e| e.url == url) {
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
            tokio::time::sleep(REFRESH).await;
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
