//! Prometheus text metrics: requests and latency by route, method and status; auth failures.

use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One histogram series, updated without a lock: each request adds to its count, its sum and
/// the one bucket its duration falls in (rendered cumulatively).
#[derive(Default)]
struct Series {
    count: AtomicU64,
    sum_ns: AtomicU64,
    /// Requests no slower than `BUCKETS[i]` and slower than `BUCKETS[i - 1]`.
    buckets: [AtomicU64; BUCKETS.len()],
}

impl Series {
    fn record(&self, took: Duration) {
        self.count.fetch_add(1, Relaxed);
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
    }
}

type RouteSeries = HashMap<(&'static str, u16), Arc<Series>>;
type Snapshot = Vec<(String, Vec<((&'static str, u16), Arc<Series>)>)>;

#[derive(Default)]
pub struct Metrics {
    /// Written only when a (route, method, status) is seen for the first time: requests share
    /// the read lock and update their series' atomics.
    requests: RwLock<HashMap<String, RouteSeries>>,
    auth_failures: Counters,
    ingest_decisions: Counters,
    /// Read (playback) decisions by media server and outcome.
    read_decisions: Counters,
    connections_open: AtomicU64,
    connection_cap: AtomicU64,
    /// By `Closed as usize`.
    connections_closed: [AtomicU64; Closed::ALL.len()],
}

/// Why the server closed a connection (or never served it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No complete request head within `header_timeout`.
    HeaderTimeout,
    /// No next request within `idle_timeout`.
    IdleTimeout,
    /// Closed to make room for a new connection (the cap was reached).
    Evicted,
    /// Not served: the cap was reached and every connection was serving a request.
    Refused,
}

impl Closed {
    pub const ALL: [Closed; 4] = [
        Closed::HeaderTimeout,
        Closed::IdleTimeout,
        Closed::Evicted,
        Closed::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::IdleTimeout => "idle_timeout",
            Closed::Evicted => "evicted",
            Closed::Refused => "refused",
        }
    }
}

/// Counters by a pair of labels, added to under a shared lock (the map is written only when a
/// pair is first seen).
#[derive(Default)]
struct Counters(RwLock<HashMap<(&'static str, &'static str), AtomicU64>>);

impl Counters {
    fn add(&self, labels: (&'static str, &'static str)) {
        if let Ok(map) = self.0.read() {
            if let Some(n) = map.get(&labels) {
                n.fetch_add(1, Relaxed);
                return;
            }
        }
        if let Ok(mut map) = self.0.write() {
            map.entry(labels).or_default().fetch_add(1, Relaxed);
        }
    }

    fn snapshot(&self) -> Vec<((&'static str, &'static str), u64)> {
        self.0.read().map_or_else(
            |_| Vec::new(),
            |m| m.iter().map(|(k, n)| (*k, n.load(Relaxed))).collect(),
        )
    }
}

fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "HEAD" => "HEAD",
        _ => "OTHER",
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The series of one fixed route and method, found once per status rather than per request (for
/// the hot route, `http::hot`): the statuses it answers most go straight to their series; any
/// other takes `Metrics::observe`.
pub struct FixedRoute {
    route: &'static str,
    method: &'static str,
    common: [(u16, OnceLock<Arc<Series>>); 2],
}

impl FixedRoute {
    pub fn new(route: &'static str, method: &'static str, common: [u16; 2]) -> Self {
        Self {
            route,
            method,
            common: common.map(|status| (status, OnceLock::new())),
        }
    }

    /// Same as `Metrics::request_done(route, method, status, start)`.
    pub fn request_done(&self, metrics: &Metrics, status: u16, start: Instant) {
        let took = start.elapsed();
        match self.common.iter().find(|(s, _)| *s == status) {
            Some((_, series)) => series
                .get_or_init(|| metrics.series(self.route, self.method, status))
                .record(took),
            None => metrics.observe(self.route, self.method, status, took),
        }
        tracing::debug!(route = self.route, method = self.method, status, "request");
    }
}

impl Metrics {
    /// The series of (route, method, status), made on first use.
    fn series(&self, route: &str, method: &'static str, status: u16) -> Arc<Series> {
        if let Ok(map) = self.requests.read() {
            if let Some(s) = map.get(route).and_then(|r| r.get(&(method, status))) {
                return s.clone();
            }
        }
        match self.requests.write() {
            Ok(mut map) => {
                let by_route = match map.get_mut(route) {
                    Some(r) => r,
                    None => map.entry(route.to_string()).or_default(),
                };
                by_route.entry((method, status)).or_default().clone()
            }
            // Poisoned (a panic while adding a series): count into a series nobody renders
            // rather than fail the request.
            Err(_) => Arc::default(),
        }
    }

    pub fn observe(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        if let Ok(map) = self.requests.read() {
            if let Some(s) = map.get(route).and_then(|r| r.get(&(method, status))) {
                s.record(took);
                return;
            }
        }
        self.series(route, method, status).record(took);
    }

    /// A request answered: counted, timed from `start`, and logged at debug level. Shared by the
    /// router's layer and the accept loop's hot route (`http::hot`).
    pub fn request_done(&self, route: &str, method: &'static str, status: u16, start: Instant) {
        self.observe(route, method, status, start.elapsed());
        tracing::debug!(route, method, status, "request");
    }

    pub fn auth_failure(&self, dialect: &'static str, reason: &'static str) {
        self.auth_failures.add((dialect, reason));
    }

    /// A media server's publish hook was answered (`allowed`, `refused`, `throttled`).
    pub fn ingest_decision(&self, server: &'static str, outcome: &'static str) {
        self.ingest_decisions.add((server, outcome));
    }

    pub fn read_decision(&self, server: &'static str, outcome: &'static str) {
        self.read_decisions.add((server, outcome));
    }

    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Relaxed);
    }

    /// A connection's task ended (whatever the reason).
    pub fn connection_closed_now(&self) {
        self.connections_open.fetch_sub(1, Relaxed);
    }

    pub fn set_connection_cap(&self, cap: usize) {
        self.connection_cap
            .store(u64::try_from(cap).unwrap_or(u64::MAX), Relaxed);
    }

    /// The server closed a connection (a timeout) or refused one.
    pub fn connection_closed(&self, why: Closed) {
        self.connections_closed[why as usize].fetch_add(1, Relaxed);
    }

    pub fn connections_evicted(&self, n: usize) {
        self.connections_closed[Closed::Evicted as usize]
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Relaxed);
    }

    pub fn connection_refused(&self) {
        self.connection_closed(Closed::Refused);
    }

    /// Connections open now.
    pub fn connections_open(&self) -> u64 {
        self.connections_open.load(Relaxed)
    }

    /// Connections the server closed or refused for `why`, since start.
    pub fn connections_closed(&self, why: Closed) -> u64 {
        self.connections_closed[why as usize].load(Relaxed)
    }

    pub fn auth_failures(&self, dialect: &str, reason: &str) -> u64 {
        self.auth_failures
            .snapshot()
            .into_iter()
            .find(|((d, r), _)| *d == dialect && *r == reason)
            .map_or(0, |(_, n)| n)
    }

    /// Renders everything in the Prometheus text exposition format.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let requests: Snapshot = match self.requests.read() {
            Ok(m) => m
                .iter()
                .map(|(r, s)| (r.clone(), s.iter().map(|(k, v)| (*k, v.clone())).collect()))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.push_str(
            "# HELP streamgate_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE streamgate_http_requests_total counter\n");
        for (route, series) in &requests {
            for ((method, status), s) in series {
                let _ = writeln!(
                    out,
                    "streamgate_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
                    escape(route),
                    s.count.load(Relaxed)
                );
            }
        }
        out.push_str("# HELP streamgate_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE streamgate_http_request_duration_seconds histogram\n");
        for (route, series) in &requests {
            for ((method, status), s) in series {
                let labels = format!(
                    "route=\"{}\",method=\"{method}\",status=\"{status}\"",
                    escape(route)
                );
                // A request being recorded meanwhile may be counted in one and not yet in the
                // other: buckets are capped at the count so that none ever exceeds +Inf.
                let count = s.count.load(Relaxed);
                let sum = s.sum_ns.load(Relaxed) as f64 / 1e9;
                let mut cumulative = 0;
                for (i, le) in BUCKETS.iter().enumerate() {
                    cumulative += s.buckets[i].load(Relaxed);
                    let _ = writeln!(
                        out,
                        "streamgate_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                        cumulative.min(count)
                    );
                }
                let _ = writeln!(
                    out,
                    "streamgate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
                );
                let _ = writeln!(
                    out,
                    "streamgate_http_request_duration_seconds_sum{{{labels}}} {sum}"
                );
                let _ = writeln!(
                    out,
                    "streamgate_http_request_duration_seconds_count{{{labels}}} {count}"
                );
            }
        }
        out.push_str("# HELP streamgate_auth_failures_total Refused authentications by dialect and reason.\n");
        out.push_str("# TYPE streamgate_auth_failures_total counter\n");
        for ((dialect, reason), n) in self.auth_failures.snapshot() {
            let _ = writeln!(
                out,
                "streamgate_auth_failures_total{{dialect=\"{dialect}\",reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP streamgate_ingest_decisions_total Publish hook decisions by media server and outcome.\n");
        out.push_str("# TYPE streamgate_ingest_decisions_total counter\n");
        for ((server, outcome), n) in self.ingest_decisions.snapshot() {
            let _ = writeln!(out, "streamgate_ingest_decisions_total{{server=\"{server}\",outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP streamgate_read_decisions_total Playback (read) decisions by media server and outcome.\n");
        out.push_str("# TYPE streamgate_read_decisions_total counter\n");
        for ((server, outcome), n) in self.read_decisions.snapshot() {
            let _ = writeln!(
                out,
                "streamgate_read_decisions_total{{server=\"{server}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP streamgate_http_connections_open Client connections open now.\n");
        out.push_str("# TYPE streamgate_http_connections_open gauge\n");
        let _ = writeln!(
            out,
            "streamgate_http_connections_open {}",
            self.connections_open()
        );
        out.push_str(
            "# HELP streamgate_http_connections_max The cap on open client connections.\n",
        );
        out.push_str("# TYPE streamgate_http_connections_max gauge\n");
        let _ = writeln!(
            out,
            "streamgate_http_connections_max {}",
            self.connection_cap.load(Relaxed)
        );
        out.push_str("# HELP streamgate_http_connections_closed_total Connections the server closed (timeouts, evictions at the cap) or refused, by reason.\n");
        out.push_str("# TYPE streamgate_http_connections_closed_total counter\n");
        for why in Closed::ALL {
            let _ = writeln!(
                out,
                "streamgate_http_connections_closed_total{{reason=\"{}\"}} {}",
                why.as_str(),
                self.connections_closed(why)
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

/// Times every request and records it under its route pattern (never the raw path, which may
/// carry ids). A plain tower layer with an unboxed future: this runs on every request.
#[derive(Clone)]
pub struct MetricsLayer(pub Arc<Metrics>);

impl<S> tower_layer::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> tower_service::Service<Request> for MetricsService<S>
where
    S: tower_service::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = method_label(req.method());
        MetricsFuture {
            inner: self.inner.call(req),
            start: Instant::now(),
            route,
            method,
            metrics: self.metrics.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        start: Instant,
        route: Option<MatchedPath>,
        method: &'static str,
        metrics: Arc<Metrics>,
    }
}

impl<F, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let status = response.status().as_u16();
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            this.metrics
                .request_done(route, this.method, status, *this.start);
            if let Some(r) = response.extensions().get::<crate::error::Refusal>() {
                this.metrics.auth_failure(r.dialect, r.reason);
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("/sg/v1/me", "GET", 200, Duration::from_millis(2));
        m.observe("/sg/v1/me", "GET", 200, Duration::from_millis(200));
        m.observe("/sg/v1/me", "GET", 200, Duration::from_secs(11));
        m.auth_failure("sg", "revoked");
        let text = m.render(&[("streamgate_key_cache_entries", "Cached keys.", 3.0)]);
        assert!(text.contains(
            "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 3"
        ));
        assert!(text.contains("le=\"0.001\"} 0"));
        assert!(text.contains("le=\"0.0025\"} 1"), "{text}");
        assert!(text.contains("le=\"0.1\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"), "cumulative");
        assert!(text.contains("le=\"10\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 3"));
        assert!(text.contains("_sum{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 11.202\n"));
        assert!(text.contains("_count{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 3\n"));
        assert!(
            text.contains("streamgate_auth_failures_total{dialect=\"sg\",reason=\"revoked\"} 1")
        );
        assert!(text.contains("streamgate_key_cache_entries 3"));
        assert_eq!(m.auth_failures("sg", "revoked"), 1);
    }

    #[test]
    fn a_fixed_route_counts_into_the_same_series_as_observe() {
        let m = Metrics::default();
        let me = FixedRoute::new("/sg/v1/me", "GET", [200, 401]);
        let start = Instant::now();
        me.request_done(&m, 200, start);
        me.request_done(&m, 200, start);
        me.request_done(&m, 503, start); // not one of its common statuses
        m.observe("/sg/v1/me", "GET", 200, Duration::from_millis(1));
        let text = m.render(&[]);
        for line in [
            "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 3\n",
            "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"503\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(
            !text.contains("status=\"401\""),
            "no series before its first request"
        );
    }

    #[test]
    fn concurrent_requests_are_all_counted() {
        let m = Arc::new(Metrics::default());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        let status = if (i + t) % 2 == 0 { 200 } else { 401 };
                        m.observe("/sg/v1/me", "GET", status, Duration::from_micros(i));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = m.render(&[]);
        for status in [200, 401] {
            let count =
                format!("_count{{route=\"/sg/v1/me\",method=\"GET\",status=\"{status}\"}} 4000\n");
            assert!(text.contains(&count), "{text}");
            let inf = format!("status=\"{status}\",le=\"+Inf\"}} 4000\n");
            assert!(text.contains(&inf), "{text}");
        }
    }
}
