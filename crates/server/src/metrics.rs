//! Prometheus metrics at `GET /metrics` (OpenMetrics text), for the addresses
//! in `metrics_allowed_cidr` (loopback by default).
//!
//! Counters are plain atomics bumped where things happen: per signaling
//! message, per HTTP request, and per batch of datagrams a media worker reads
//! or sends (never per packet on the forwarding path). Counts of what the
//! node holds (streams, players, sessions by app and kind) are taken from the
//! session logic when scraped. No label names a stream: per-stream detail is
//! REST's.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tern_core::AppCensus;
use tokio::sync::oneshot;

use crate::http::AppState;
use crate::hub::HubMsg;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabel {
    pub command: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DefinitionLabel {
    pub definition: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabel {
    pub api: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerLabel {
    pub worker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppKind {
    app: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabel {
    app: String,
}

/// What a media worker counts, one handle each (no label lookup per batch).
#[derive(Clone, Default)]
pub struct WorkerCounters {
    pub datagrams_in: Counter,
    pub bytes_in: Counter,
    pub datagrams_out: Counter,
    pub bytes_out: Counter,
    /// Messages handed to the kernel: a GSO send carries several datagrams.
    pub sends: Counter,
    /// Datagrams the socket refused (a full send buffer).
    pub dropped: Counter,
}

/// What the built-in TURN server counts.
#[derive(Clone, Default)]
pub struct TurnCounters {
    pub allocations: Gauge,
    pub refused: Counter,
    pub relayed_bytes: Counter,
    /// Datagrams between a relay socket and a media worker, handed over in
    /// the process (both ways).
    pub in_process: Counter,
    pub dropped_over_bitrate: Counter,
    pub dropped_by_policy: Counter,
}

#[derive(Default)]
pub struct Metrics {
    pub turn: TurnCounters,
    pub messages: Family<CommandLabel, Counter>,
    pub errors: Family<DefinitionLabel, Counter>,
    pub http: Family<HttpLabel, Counter>,
    datagrams_in: Family<WorkerLabel, Counter>,
    bytes_in: Family<WorkerLabel, Counter>,
    datagrams_out: Family<WorkerLabel, Counter>,
    bytes_out: Family<WorkerLabel, Counter>,
    sends: Family<WorkerLabel, Counter>,
    dropped: Family<WorkerLabel, Counter>,
    webhooks: Family<OutcomeLabel, Counter>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// The counters of media worker `index`.
    pub fn worker(&self, index: usize) -> WorkerCounters {
        let l = WorkerLabel {
            worker: index.to_string(),
        };
        WorkerCounters {
            datagrams_in: self.datagrams_in.get_or_create(&l).clone(),
            bytes_in: self.bytes_in.get_or_create(&l).clone(),
            datagrams_out: self.datagrams_out.get_or_create(&l).clone(),
            bytes_out: self.bytes_out.get_or_create(&l).clone(),
            sends: self.sends.get_or_create(&l).clone(),
            dropped: self.dropped.get_or_create(&l).clone(),
        }
    }

    /// The counter of webhooks that ended with `outcome`.
    pub fn webhook(&self, outcome: &'static str) -> Counter {
        self.webhooks
            .get_or_create(&OutcomeLabel { outcome })
            .clone()
    }

    /// The exposition: counters, what the node holds, and the process.
    fn render(&self, census: &[AppCensus]) -> String {
        let mut r = Registry::default();
        r.register(
            "tern_signaling_messages",
            "Signaling messages received, by command",
            self.messages.clone(),
        );
        r.register(
            "tern_signaling_errors",
            "Errors sent to clients, by wire string",
            self.errors.clone(),
        );
        r.register(
            "tern_http_requests",
            "REST and WHIP/WHEP requests answered, by API and status",
            self.http.clone(),
        );
        r.register(
            "tern_media_datagrams_received",
            "UDP datagrams a media worker read",
            self.datagrams_in.clone(),
        );
        r.register(
            "tern_media_received_bytes",
            "UDP payload bytes a media worker read",
            self.bytes_in.clone(),
        );
        r.register(
            "tern_media_datagrams_sent",
            "UDP datagrams a media worker sent",
            self.datagrams_out.clone(),
        );
        r.register(
            "tern_media_sent_bytes",
            "UDP payload bytes a media worker sent",
            self.bytes_out.clone(),
        );
        r.register(
            "tern_media_sends",
            "UDP messages a media worker handed the kernel (one GSO send carries several datagrams)",
            self.sends.clone(),
        );
        let t = &self.turn;
        r.register(
            "tern_turn_allocations",
            "Allocations the built-in TURN server holds",
            t.allocations.clone(),
        );
        r.register(
            "tern_turn_refused",
            "TURN requests refused by Tern's rules (credentials, quotas, peers)",
            t.refused.clone(),
        );
        r.register(
            "tern_turn_relayed_bytes",
            "Bytes the TURN server relayed between clients and peers",
            t.relayed_bytes.clone(),
        );
        r.register(
            "tern_turn_in_process_datagrams",
            "Datagrams between TURN relay sockets and media workers handed over in the process",
            t.in_process.clone(),
        );
        r.register(
            "tern_turn_dropped_over_bitrate",
            "Datagrams dropped over an allocation's bandwidth limit",
            t.dropped_over_bitrate.clone(),
        );
        r.register(
            "tern_turn_dropped_by_policy",
            "Datagrams a client sent toward a peer the relay may not reach",
            t.dropped_by_policy.clone(),
        );
        r.register(
            "tern_media_datagrams_dropped",
            "Datagrams the media socket refused (send buffer full)",
            self.dropped.clone(),
        );
        r.register(
            "tern_webhooks",
            "Webhooks by outcome: delivered (200), failed (after every retry), dropped (queue full)",
            self.webhooks.clone(),
        );
        let publishers = Family::<AppKind, Gauge>::default();
        let players = Family::<AppKind, Gauge>::default();
        let sessions = Family::<AppKind, Gauge>::default();
        let rooms = Family::<AppLabel, Gauge>::default();
        for c in census {
            let kind = |k: &str| AppKind {
                app: c.app.clone(),
                kind: k.to_owned(),
            };
            for (k, n) in &c.publishers {
                publishers.get_or_create(&kind(k)).set(*n as i64);
            }
            for (k, n) in &c.players {
                players.get_or_create(&kind(k)).set(*n as i64);
            }
            sessions
                .get_or_create(&kind("websocket"))
                .set(c.websockets as i64);
            sessions
                .get_or_create(&kind("whip_whep"))
                .set(c.headless as i64);
            rooms
                .get_or_create(&AppLabel { app: c.app.clone() })
                .set(c.rooms as i64);
        }
        r.register(
            "tern_streams_live",
            "Live streams, by app and how their media comes in (publishType)",
            publishers,
        );
        r.register(
            "tern_players_connected",
            "Connected players, by app and kind",
            players,
        );
        r.register(
            "tern_sessions",
            "Signaling sessions, by app and kind",
            sessions,
        );
        r.register("tern_rooms", "Conference rooms, by app", rooms);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode_registry(&mut out, &r).is_err() {
            out.clear();
        }
        process_metrics(&mut out);
        out.push_str("# EOF\n");
        out
    }
}

/// CPU time, resident memory, open file descriptors and start time of this
/// process (Prometheus's `process_` names).
fn process_metrics(out: &mut String) {
    let p = crate::process::sample();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let suffix = if kind == "counter" { "_total" } else { "" };
        let _ = writeln!(out, "{name}{suffix} {value}");
    };
    if let Some(v) = p.cpu_seconds {
        metric(
            "process_cpu_seconds",
            "counter",
            "Total user and system CPU time spent in seconds.",
            v,
        );
    }
    if let Some(v) = p.rss_bytes {
        metric(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            v as f64,
        );
    }
    if let Some(v) = p.open_fds {
        metric(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            v as f64,
        );
    }
    if let Some(v) = p.start_time {
        metric(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            v,
        );
    }
}

/// `GET /metrics`.
pub async fn scrape(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    if !state.metrics_allowed.contains(peer.ip()) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are served to the addresses in metrics_allowed_cidr only\n",
        )
            .into_response();
    }
    let (reply, census) = oneshot::channel();
    if state.hub.send(HubMsg::Census(reply)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response();
    }
    let Ok(census) = census.await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response();
    };
    // Prometheus asks for OpenMetrics; other readers (promtool, curl, older
    // scrapers) get the classic text format, as Prometheus's own clients do.
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let text = state.metrics.render(&census);
    let (body, kind) = if openmetrics {
        (
            text,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            classic_text(&text),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    res
}

/// The OpenMetrics exposition in the Prometheus text format 0.0.4: a counter
/// family is named with its `_total` suffix there, and there is no `# EOF`
/// or `# UNIT`.
fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .iter()
            .find_map(|p| Some((*p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                let _ = writeln!(out, "{prefix}{name}{suffix} {tail}");
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Counts each answered request of an API by its status.
pub async fn count_http(
    State((metrics, api)): State<(Arc<Metrics>, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    metrics
        .http
        .get_or_create(&HttpLabel {
            api,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

#[cfg(test)]
mod tests {
    use super::classic_text;

    #[test]
    fn classic_text_names_counter_families_with_total_and_drops_eof() {
        let om = "# HELP a_bytes Bytes.\n# TYPE a_bytes counter\n# UNIT a_bytes bytes\na_bytes_total{x=\"1\"} 5\n\
                  # HELP g Gauge.\n# TYPE g gauge\ng 2\n# EOF\n";
        assert_eq!(
            classic_text(om),
            "# HELP a_bytes_total Bytes.\n# TYPE a_bytes_total counter\na_bytes_total{x=\"1\"} 5\n\
             # HELP g Gauge.\n# TYPE g gauge\ng 2\n"
        );
    }
}
