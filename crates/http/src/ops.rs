//! Operational endpoints: health, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::dialect::sg;
use super::routes::{Body, Need, RouteSpec};
use super::AppState;
use serde_json::{json, Map, Value};

/// The process and its store, as the background probe last found them (every 500 ms): the
/// probes themselves never query the store.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `/healthz`: always `ok` (the process serves). `/readyz`: `ready` or `not_ready`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    /// Did the last probe reach the store (null before the first probe)?
    pub store_reachable: Option<bool>,
    /// Since when (Unix ms) the store has been reachable, or unreachable.
    pub store_since_ms: i64,
    /// For how long (ms) it has been so.
    pub store_for_ms: u64,
    /// Every migration this binary carries is applied.
    pub migrations_applied: bool,
    /// The change-log follower keeps up, so cached keys are trusted.
    pub change_log_synced: bool,
    /// Reachable store, migrations applied, change log followed: what `/readyz` answers 200 for.
    pub ready: bool,
}

fn health(state: &AppState, status: &'static str) -> Health {
    let h = state.svc.store_health();
    Health {
        status,
        store: h.backend,
        store_reachable: h.reachable,
        store_since_ms: h.since_ms,
        store_for_ms: h.for_ms,
        migrations_applied: h.migrations_applied,
        change_log_synced: h.change_log_synced,
        ready: h.ready(),
    }
}

/// Liveness: 200 whenever the process serves; the body says whether the store is reachable.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(health(&state, "ok"))
}

/// Readiness: 200 when the store is reachable, its migrations applied and the change log
/// followed; 503 otherwise (same body).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let h = health(&state, "ready");
    if h.ready {
        (StatusCode::OK, axum::Json(h))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(Health {
                status: "not_ready",
                ..h
            }),
        )
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    // With `metrics_token` set, only a scraper presenting it (in one Authorization header, as
    // everywhere) reads the metrics.
    if let Some(token) = &state.settings.metrics_token {
        if crate::auth::one_authorization(&headers).is_err() {
            return (
                StatusCode::BAD_REQUEST,
                "send one Authorization header, not several\n",
            )
                .into_response();
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !service::ingest::constant_time_eq(presented.as_bytes(), token.expose().as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
                "metrics need the bearer token configured as metrics_token\n",
            )
                .into_response();
        }
    }
    let verifier = &state.svc.verifier;
    let group = state.svc.group_commit_stats();
    let hashing = state.svc.passwords.stats();
    let body = state.metrics.render(&[
        (
            "streamgate_key_cache_entries",
            "API key hashes held in the verify cache.",
            verifier.cached_entries() as f64,
        ),
        (
            "streamgate_key_store_lookups",
            "Key verifications that had to read the store (cache misses), since start.",
            verifier.store_lookups() as f64,
        ),
        (
            "streamgate_stream_cache_entries",
            "Streams held in the read path's object cache.",
            verifier.cached_streams() as f64,
        ),
        (
            "streamgate_change_log_applied_seq",
            "Last change-log entry this instance has applied to its cache (-1: not following).",
            verifier.applied_seq() as f64,
        ),
        (
            "streamgate_group_commit_transactions",
            "Transactions committed for group commits (audit events, publish starts and ends), since start.",
            group.groups.load(Relaxed) as f64,
        ),
        (
            "streamgate_group_commit_callers",
            "Requests whose writes those transactions committed, since start (callers / transactions = mean group size).",
            group.callers.load(Relaxed) as f64,
        ),
        (
            "streamgate_group_commit_retried_alone",
            "Requests written again on their own after a write of their group was refused, since start.",
            group.retried_alone.load(Relaxed) as f64,
        ),
        (
            "streamgate_password_hashes_in_flight",
            "Password hashes and checks (argon2id) running now.",
            hashing.in_flight as f64,
        ),
        (
            "streamgate_password_hashes_peak",
            "The most password hashes that ever ran at once (never above password_hash_concurrency).",
            hashing.peak as f64,
        ),
        (
            "streamgate_password_hash_concurrency",
            "Password hashes allowed to run at once.",
            hashing.concurrency as f64,
        ),
        (
            "streamgate_password_hashes_refused",
            "Password hashes refused with 503 because the queue was full, since start.",
            hashing.refused as f64,
        ),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "x-api-key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-KEY"))),
        );
        components.add_security_scheme(
            "tok",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Edgecast's style: `Authorization: TOK:<key>`",
            ))),
        );
        components.add_security_scheme(
            "ingestToken",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "an ingest token (`sgi_…`) on the hook URL",
            ))),
        );
        components.add_security_scheme(
            "uploadToken",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "an upload token (api.video's `to…`) or a one-time upload URL's token",
            ))),
        );
        components.add_security_scheme(
            "ingestBearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an ingest token (`sgi_…`) as Bearer"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "dashboardSession",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::dashboard::SESSION_COOKIE,
                "a signed-in dashboard user's session; forms also carry its CSRF token",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "streamgate", description = "Authentication and credentials server for live-video platforms"),
    paths(healthz, readyz, metrics, sg::me, sg::keys::verify, sg::keys::create, sg::keys::list, sg::keys::get, sg::keys::update, sg::keys::delete, sg::keys::reroll, sg::webhook_credential, sg::usage),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// The served OpenAPI document, rendered once when the app is built.
#[derive(Clone)]
pub struct Document(pub axum::body::Bytes);

impl Document {
    pub fn new(specs: &[RouteSpec]) -> Self {
        Self(
            serde_json::to_vec(&document(specs))
                .unwrap_or_default()
                .into(),
        )
    }
}

/// The OpenAPI document of every declared route: the native routes' own descriptions (utoipa,
/// from the handlers), completed for each route from its declaration (`routes::RouteSpec`): its
/// path and query parameters, the security its `Need` implies, its request body and its
/// dialect's error responses. Routes without a handler description get all of it from the
/// declaration, so nothing declared is left out of the document.
pub fn document(specs: &[RouteSpec]) -> Value {
    let mut doc = match serde_json::to_value(ApiDoc::openapi()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut paths = take(&mut doc, "paths");
    let mut schemas: Vec<(String, Value)> = Vec::new();
    for spec in specs {
        let method = spec.method.as_str().to_ascii_lowercase();
        let mut item = take(&mut paths, &spec.path);
        let mut op = take(&mut item, &method);
        describe(&mut op, spec, &method, &mut schemas);
        item.insert(method, Value::Object(op));
        paths.insert(spec.path.clone(), Value::Object(item));
    }
    doc.insert("paths".into(), Value::Object(paths));
    let mut components = take(&mut doc, "components");
    let mut defined = take(&mut components, "schemas");
    for (name, schema) in schemas {
        defined.entry(name).or_insert(schema);
    }
    components.insert("schemas".into(), Value::Object(defined));
    doc.insert("components".into(), Value::Object(components));
    Value::Object(doc)
}

/// The object under `key`, taken out of `m` (an empty one if there is none).
fn take(m: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match m.remove(key) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

/// The statuses a route's declaration implies it may refuse with.
fn refusals(spec: &RouteSpec) -> &'static [u16] {
    let json_body = matches!(spec.body, Body::AnyJson | Body::Json(_));
    match (spec.need, json_body) {
        (Need::Permission(_) | Need::Key, true) => &[400, 401, 403, 404, 409, 413, 415, 429, 503],
        (Need::Permission(_) | Need::Key, false) => &[400, 401, 403, 404, 409, 429, 503],
        (Need::BodyCredential, _) => &[400, 401, 403, 413, 415, 429, 503],
        (Need::Ingest, _) => &[400, 401, 403, 503],
        (Need::Dashboard, _) => &[400, 403, 404, 409, 429, 503],
        (Need::UploadCredential, _) => &[400, 401, 404, 409, 413, 429, 503],
        (Need::Anyone, _) => &[],
    }
}

fn describe(
    op: &mut Map<String, Value>,
    spec: &RouteSpec,
    method: &str,
    schemas: &mut Vec<(String, Value)>,
) {
    let d = spec.dialect;
    let described = op.contains_key("responses");
    if !described {
        let id: String = format!("{method}{}", spec.path)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        op.insert("operationId".into(), json!(id.trim_end_matches('_')));
        op.insert("tags".into(), json!([d.tag]));
        op.insert(
            "summary".into(),
            json!(format!("{} {}", spec.method, spec.path)),
        );
    }
    let needs = match spec.need {
        Need::Permission(p) => format!("Needs a key (or access token) holding `{p}`."),
        Need::Key => "Needs any valid key or access token.".into(),
        Need::Anyone => "Open to anyone.".into(),
        Need::BodyCredential => "The credential is in the body.".into(),
        Need::Ingest => "Needs a media server's ingest token.".into(),
        Need::Dashboard => "Needs a signed-in dashboard user.".into(),
        Need::UploadCredential => "Needs an upload credential in the query (`?token=`).".into(),
    };
    match op.get_mut("description") {
        Some(Value::String(text)) => {
            text.push_str("\n\n");
            text.push_str(&needs);
        }
        _ => {
            op.insert("description".into(), json!(needs));
        }
    }

    // Parameters: each `{name}` of the path, and the query parameters the route reads.
    let params = op
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = params {
        let has = |list: &Vec<Value>, name: &str, place: &str| {
            list.iter()
                .any(|p| p["name"] == json!(name) && p["in"] == json!(place))
        };
        for name in spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        {
            if !has(list, name, "path") {
                list.push(json!({"name": name, "in": "path", "required": true,
                    "schema": {"type": "string"}}));
            }
        }
        for name in spec.query {
            if !has(list, name, "query") {
                list.push(json!({"name": name, "in": "query", "required": false,
                    "schema": {"type": "string"}}));
            }
        }
    }
    if op.get("parameters").is_some_and(|p| p == &json!([])) {
        op.remove("parameters");
    }

    // Security, from what the route needs.
    let schemes: Vec<&str> = match spec.need {
        Need::Permission(_) | Need::Key => d.key_schemes.to_vec(),
        Need::Ingest => vec!["ingestToken", "ingestBearer"],
        Need::Dashboard => vec!["dashboardSession"],
        Need::UploadCredential => vec!["uploadToken"],
        Need::Anyone | Need::BodyCredential => Vec::new(),
    };
    op.insert(
        "security".into(),
        Value::Array(schemes.iter().map(|s| json!({ (*s): [] })).collect()),
    );

    // The request body.
    if !op.contains_key("requestBody") {
        let content = match spec.body {
            Body::None => None,
            Body::AnyJson => Some(json!({"application/json": {"schema": {"type": "object"}}})),
            Body::Json(s) => {
                let mut all = (s.schemas)().into_iter();
                all.next().map(|(name, schema)| {
                    schemas.push((name.clone(), serde_json::to_value(schema).unwrap_or_default()));
                    schemas.extend(
                        all.map(|(n, s)| (n, serde_json::to_value(s).unwrap_or_default())),
                    );
                    json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}})
                })
            }
            Body::Form => Some(json!({"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "additionalProperties": {"type": "string"}}}})),
            Body::Multipart => Some(json!({"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}})),
            Body::Binary => Some(json!({"application/octet-stream": {"schema": {
                "type": "string", "format": "binary"}}})),
        };
        if let Some(content) = content {
            op.insert(
                "requestBody".into(),
                json!({"content": content, "required": true}),
            );
        }
    }

    // Responses: success unless the handler described it, and the dialect's refusals.
    let mut responses = take(op, "responses");
    let json_dialect = d.error_content_type.contains("json");
    if !responses.keys().any(|k| k.starts_with('2')) {
        let success = match (spec.need, json_dialect) {
            (Need::Dashboard, _) => {
                json!({"description": "the page", "content": {"text/html; charset=utf-8": {"schema": {"type": "string"}}}})
            }
            (_, true) => {
                json!({"description": "success", "content": {"application/json": {"schema": {}}}})
            }
            (_, false) => json!({"description": "success"}),
        };
        responses.insert("2XX".into(), success);
        if json_dialect {
            responses.insert("204".into(), json!({"description": "done (no content)"}));
        }
    }
    if spec.need == Need::Dashboard {
        responses
            .entry("303")
            .or_insert_with(|| json!({"description": "to the next page, or to sign in"}));
    }
    let error_schema: Value = serde_json::from_str(d.error_schema).unwrap_or(json!({}));
    for status in refusals(spec) {
        let reason = axum::http::StatusCode::from_u16(*status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("refused");
        let mut response = json!({ "description": reason });
        if !d.error_content_type.is_empty() {
            response["content"] =
                json!({ (d.error_content_type): {"schema": error_schema.clone()} });
        }
        responses.entry(status.to_string()).or_insert(response);
    }
    op.insert("responses".into(), Value::Object(responses));
}

pub async fn openapi(axum::Extension(doc): axum::Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.0.clone()).into_response()
}

/// The public keys that verify access tokens (RFC 7517), e.g. for MediaMTX's `authJWTJWKS`.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.svc.jwks().await {
        Ok(keys) => (
            [(axum::http::header::CACHE_CONTROL, "max-age=60")],
            axum::Json(keys),
        )
            .into_response(),
        Err(e) => crate::error::ApiError::<sg::Sg>::from(e).into_response(),
    }
}
