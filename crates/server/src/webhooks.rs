//! Webhooks with Ant Media's names: a POST to the broadcast's
//! `listenerHookURL`, else the app's, for `liveStreamStarted`,
//! `liveStreamEnded`, `publishTimeoutError`, `playStarted` and `playStopped`
//! (and `vodReady` from `record::writer`), with the fields `id`, `action`, `streamName`, `category`, `metadata` and
//! `timestamp`, as JSON or a form (`webhookContentType`), retried
//! `webhookRetryCount` times `webhookRetryDelay` ms apart when the receiver
//! does not answer 200. With `webhookSecret` set, `X-Tern-Signature` carries
//! `sha256=<hex HMAC-SHA256 of the body>` (beyond Ant Media).
//!
//! Nothing waits for a receiver: hooks go through a bounded queue (a full one
//! drops them, counted in metrics), each delivery has a timeout, and at most
//! `PARALLEL` run at once.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use prometheus_client::metrics::counter::Counter;
use sha2::Sha256;
use tokio::sync::{mpsc, Semaphore};

/// Hooks waiting for delivery.
const QUEUE: usize = 1024;
/// Deliveries in flight.
const PARALLEL: usize = 16;
/// One attempt's bound.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One hook to deliver.
#[derive(Debug, Clone)]
pub struct Hook {
    pub url: String,
    pub json: bool,
    pub retries: u32,
    pub retry_delay: Duration,
    pub secret: String,
    pub fields: Vec<(&'static str, String)>,
}

impl Hook {
    /// A hook of a stream with these fields: to its broadcast's
    /// `listenerHookURL`, else the app's, delivered as the app's settings
    /// say. None when neither URL is set.
    pub fn for_stream(
        settings: &crate::app_settings::Settings,
        broadcast: Option<&tern_store::Broadcast>,
        fields: Vec<(&'static str, String)>,
    ) -> Option<Hook> {
        let url = broadcast
            .and_then(|b| b.listener_hook_url.clone())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| settings.listener_hook_url.clone());
        (!url.is_empty()).then(|| Hook {
            url,
            json: settings.webhook_content_type == "application/json",
            retries: settings.webhook_retry_count,
            retry_delay: Duration::from_millis(settings.webhook_retry_delay),
            secret: settings.webhook_secret.clone(),
            fields,
        })
    }

    /// The body and its content type.
    fn body(&self) -> (String, &'static str) {
        if self.json {
            let map: serde_json::Map<String, serde_json::Value> = self
                .fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                .collect();
            (
                serde_json::Value::Object(map).to_string(),
                "application/json",
            )
        } else {
            let form = self
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={}", form_escape(v)))
                .collect::<Vec<_>>()
                .join("&");
            (form, "application/x-www-form-urlencoded")
        }
    }
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &str, body: &str) -> String {
    format!("sha256={}", hmac_sha256_hex(secret, body))
}

/// HMAC-SHA256 of `body` under `secret`, in lowercase hex.
pub fn hmac_sha256_hex(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone)]
pub struct Webhooks {
    tx: mpsc::Sender<Hook>,
    dropped: Counter,
}

impl Webhooks {
    /// Starts the delivery task; `dropped` counts hooks a full queue refused.
    pub fn start(dropped: Counter, delivered: Counter, failed: Counter) -> Webhooks {
        let (tx, mut rx) = mpsc::channel::<Hook>(QUEUE);
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default();
        let slots = Arc::new(Semaphore::new(PARALLEL));
        tokio::spawn(async move {
            while let Some(hook) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (client, delivered, failed) =
                    (client.clone(), delivered.clone(), failed.clone());
                tokio::spawn(async move {
                    if deliver(&client, &hook).await {
                        delivered.inc();
                    } else {
                        failed.inc();
                    }
                    drop(slot);
                });
            }
        });
        Webhooks { tx, dropped }
    }

    /// Queues a hook; never waits.
    pub fn send(&self, hook: Hook) {
        if self.tx.try_send(hook).is_err() {
            self.dropped.inc();
            tracing::warn!("webhook queue full: a hook was dropped");
        }
    }
}

/// True once the receiver answered 200.
async fn deliver(client: &reqwest::Client, hook: &Hook) -> bool {
    let (body, content_type) = hook.body();
    let action = hook
        .fields
        .iter()
        .find(|(k, _)| *k == "action")
        .map_or("", |(_, v)| v.as_str());
    for attempt in 0..=hook.retries {
        if attempt > 0 {
            tokio::time::sleep(hook.retry_delay).await;
        }
        let mut req = client
            .post(&hook.url)
            .header("Content-Type", content_type)
            .body(body.clone());
        if !hook.secret.is_empty() {
            req = req.header("X-Tern-Signature", signature(&hook.secret, &body));
        }
        match req.send().await {
            Ok(r) if r.status().as_u16() == 200 => return true,
            Ok(r) => tracing::info!(
                action,
                status = r.status().as_u16(),
                attempt,
                "webhook not accepted"
            ),
            Err(e) => tracing::info!(action, attempt, "webhook failed: {e}"),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: bool) -> Hook {
        Hook {
            url: String::new(),
            json,
            retries: 0,
            retry_delay: Duration::ZERO,
            secret: String::new(),
            fields: vec![("id", "s 1".into()), ("action", "liveStreamStarted".into())],
        }
    }

    #[test]
    fn bodies_as_json_or_form() {
        assert_eq!(
            hook(true).body(),
            (
                r#"{"action":"liveStreamStarted","id":"s 1"}"#.into(),
                "application/json"
            )
        );
        assert_eq!(
            hook(false).body(),
            (
                "id=s+1&action=liveStreamStarted".into(),
                "application/x-www-form-urlencoded"
            )
        );
    }

    #[test]
    fn signature_is_the_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
