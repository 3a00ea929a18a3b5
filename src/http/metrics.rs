//! Prometheus text metrics: requests and latency by route, method and status; auth failures.

use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

type RouteSeries = HashMap<(&'static str, u16), Series>;
type Snapshot = Vec<(String, Vec<((&'static str, u16), Series)>)>;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<String, RouteSeries>>,
    auth_failures: Mutex<HashMap<(&'static str, &'static str), u64>>,
    ingest_decisions: Mutex<HashMap<(&'static str, &'static str), u64>>,
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

impl Metrics {
    pub fn observe(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let Ok(mut map) = self.requests.lock() else {
            return;
        };
        let by_route = match map.get_mut(route) {
            Some(r) => r,
            None => map.entry(route.to_string()).or_default(),
        };
        let s = by_route.entry((method, status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// A request answered: counted, timed from `start`, and logged at debug level. Shared by the
    /// router's layer and the accept loop's hot route (`http::hot`).
    pub fn request_done(&self, route: &str, method: &'static str, status: u16, start: Instant) {
        self.observe(route, method, status, start.elapsed().as_secs_f64());
        tracing::debug!(route, method, status, "request");
    }

    pub fn auth_failure(&self, dialect: &'static str, reason: &'static str) {
        if let Ok(mut m) = self.auth_failures.lock() {
            *m.entry((dialect, reason)).or_default() += 1;
        }
    }

    /// A media server's publish hook was answered (`allowed`, `refused`, `throttled`).
    pub fn ingest_decision(&self, server: &'static str, outcome: &'static str) {
        if let Ok(mut m) = self.ingest_decisions.lock() {
            *m.entry((server, outcome)).or_default() += 1;
        }
    }

    pub fn auth_failures(&self, dialect: &str, reason: &str) -> u64 {
        self.auth_failures
            .lock()
            .ok()
            .and_then(|m| {
                m.iter()
                    .find(|((d, r), _)| *d == dialect && *r == reason)
                    .map(|(_, n)| *n)
            })
            .unwrap_or(0)
    }

    /// Renders everything in the Prometheus text exposition format.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let requests: Snapshot = match self.requests.lock() {
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
                    s.count
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
                for (i, le) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "streamgate_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                        s.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "streamgate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    s.count
                );
                let _ = writeln!(
                    out,
                    "streamgate_http_request_duration_seconds_sum{{{labels}}} {}",
                    s.sum
                );
                let _ = writeln!(
                    out,
                    "streamgate_http_request_duration_seconds_count{{{labels}}} {}",
                    s.count
                );
            }
        }
        out.push_str("# HELP streamgate_auth_failures_total Refused authentications by dialect and reason.\n");
        out.push_str("# TYPE streamgate_auth_failures_total counter\n");
        if let Ok(m) = self.auth_failures.lock() {
            for ((dialect, reason), n) in m.iter() {
                let _ = writeln!(out, "streamgate_auth_failures_total{{dialect=\"{dialect}\",reason=\"{reason}\"}} {n}");
            }
        }
        out.push_str("# HELP streamgate_ingest_decisions_total Publish hook decisions by media server and outcome.\n");
        out.push_str("# TYPE streamgate_ingest_decisions_total counter\n");
        if let Ok(m) = self.ingest_decisions.lock() {
            for ((server, outcome), n) in m.iter() {
                let _ = writeln!(out, "streamgate_ingest_decisions_total{{server=\"{server}\",outcome=\"{outcome}\"}} {n}");
            }
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
        m.observe("/sg/v1/me", "GET", 200, 0.002);
        m.observe("/sg/v1/me", "GET", 200, 0.2);
        m.auth_failure("sg", "revoked");
        let text = m.render(&[("streamgate_key_cache_entries", "Cached keys.", 3.0)]);
        assert!(text.contains(
            "streamgate_http_requests_total{route=\"/sg/v1/me\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.0025\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(
            text.contains("streamgate_auth_failures_total{dialect=\"sg\",reason=\"revoked\"} 1")
        );
        assert!(text.contains("streamgate_key_cache_entries 3"));
        assert_eq!(m.auth_failures("sg", "revoked"), 1);
    }
}
