//! The applications of this server and their current settings.
//!
//! Precedence: the config file (or the defaults) *seeds* an application's
//! settings the first time the data directory sees that application; from then
//! on the settings saved in the data directory are used, and `PUT
//! /{App}/rest/v2/settings` changes and saves them. A later edit of the file is
//! therefore not applied to an existing app: Tern logs which settings differ so
//! that the operator can apply them through REST (or start with a fresh data
//! directory).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use anyhow::{bail, Context};
use tern_auth::jwt::JwkSet;
use tern_core::AppSettings;

use crate::app_settings::Settings;
use crate::db::{self, SharedStore};
use crate::jwks::JwksCache;

#[derive(Clone, Default)]
pub struct Apps {
    inner: Arc<RwLock<BTreeMap<String, Arc<Settings>>>>,
    /// The sets of the apps' `jwksURL`, fetched as the settings name them.
    jwks: JwksCache,
}

impl Apps {
    /// Reads each configured app's saved settings, saving the file's for apps
    /// seen for the first time.
    pub fn load(
        configured: &BTreeMap<String, Settings>,
        store: &SharedStore,
    ) -> anyhow::Result<Apps> {
        let mut store = db::lock(store);
        let mut apps = BTreeMap::new();
        for (name, from_file) in configured {
            let saved = store
                .app_settings(name)
                .with_context(|| format!("cannot read the settings of {name}"))?;
            let settings = match saved {
                None => {
                    let json = serde_json::to_string(from_file)?;
                    store
                        .save_app_settings(name, &json)
                        .with_context(|| format!("cannot save the settings of {name}"))?;
                    from_file.clone()
                }
                Some(json) => {
                    let saved: Settings = serde_json::from_str(&json)
                        .with_context(|| format!("the saved settings of {name} are damaged"))?;
                    if let Err(e) = saved.validate() {
                        bail!("the saved settings of {name} are invalid: {e}");
                    }
                    let differ = saved.differences(from_file);
                    if !differ.is_empty() {
                        tracing::warn!(
                            app = %name,
                            settings = differ.join(","),
                            "saved settings differ from the config file; the saved ones are used \
                             (change them with PUT /{name}/rest/v2/settings)"
                        );
                    }
                    saved
                }
            };
            apps.insert(name.clone(), Arc::new(settings));
        }
        let jwks = JwksCache::default();
        for (name, settings) in &apps {
            jwks.watch(name, &settings.jwks_url);
        }
        Ok(Apps {
            inner: Arc::new(RwLock::new(apps)),
            jwks,
        })
    }

    /// The JWKS last fetched from `app`'s `jwksURL`, if any.
    pub fn jwks(&self, app: &str) -> Option<Arc<JwkSet>> {
        let url = self.read().get(app)?.jwks_url.clone();
        self.jwks.get(app, &url)
    }

    /// The full settings of `app`.
    pub fn settings(&self, app: &str) -> Option<Arc<Settings>> {
        self.read().get(app).cloned()
    }

    /// What a new session of `app` runs with.
    pub fn get(&self, app: &str) -> Option<AppSettings> {
        self.read().get(app).map(|s| s.core())
    }

    /// Every application's name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    pub fn contains_key(&self, app: &str) -> bool {
        self.read().contains_key(app)
    }

    /// Makes `settings` current for `app` (already validated and saved).
    pub fn replace(&self, app: &str, settings: Settings) {
        self.jwks.watch(app, &settings.jwks_url);
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.insert(app.to_owned(), Arc::new(settings));
    }

    /// Takes the settings another node saved (cluster mode: one store, many
    /// nodes); answers the apps that changed. Damaged or invalid saved
    /// settings are logged and left aside: the ones in force stay.
    pub fn refresh(&self, store: &SharedStore) -> Vec<String> {
        let mut changed = Vec::new();
        for name in self.names() {
            let saved = db::lock(store).app_settings(&name);
            let json = match saved {
                Ok(Some(json)) => json,
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(app = %name, "cannot read the saved settings: {e}");
                    continue;
                }
            };
            let saved: Settings = match serde_json::from_str(&json) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(app = %name, "the saved settings are damaged: {e}");
                    continue;
                }
            };
            let Some(current) = self.settings(&name) else {
                continue;
            };
            let differ = saved.differences(&current);
            if differ.is_empty() {
                continue;
            }
            if let Err(e) = saved.validate() {
                tracing::warn!(app = %name, "the saved settings are invalid: {e}");
                continue;
            }
            tracing::info!(app = %name, changed = differ.join(","), "settings changed on another node");
            self.replace(&name, saved);
            changed.push(name);
        }
        changed
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Settings>>> {
        // Values are replaced whole, so a poisoned lock still holds consistent data.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }
}
