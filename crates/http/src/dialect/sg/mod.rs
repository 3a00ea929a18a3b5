//! streamgate's own API under `/sg/v1`. Errors: `{"error":{"code","message"}}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Method;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod keys;

use crate::auth::Authed;
use crate::error::{ApiError, Dialect};
use crate::json::Json;
use crate::routes::{Body, DialectDoc, Need, Routes};
use crate::{perm, AppState};
use domain::clock::rfc3339;

use domain::{Environment, KeyInfo};

/// The route template, as the router would report it to the metrics.
pub const ME: &str = "/sg/v1/me";

pub struct Sg;

#[derive(Serialize, ToSchema)]
pub struct SgErrorBody<'a> {
    pub error: SgError<'a>,
}

#[derive(Serialize, ToSchema)]
pub struct SgError<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

impl Dialect for Sg {
    const NAME: &'static str = "sg";
    const DOC: DialectDoc = DialectDoc {
        tag: "streamgate",
        key_schemes: &["bearer", "basic", "x-api-key", "tok"],
        error_content_type: "application/json",
        error_schema: r#"{"type":"object","required":["error"],"properties":{"error":{"type":"object","required":["code","message"],"properties":{"code":{"type":"string"},"message":{"type":"string"}}}}}"#,
    };

    fn render(status: StatusCode, code: &'static str, message: &str) -> Response {
        let body = SgErrorBody {
            error: SgError { code, message },
        };
        let mut res = crate::json::response(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"streamgate\""),
            );
        }
        res
    }
}

pub type SgResult<T> = Result<T, ApiError<Sg>>;

pub fn routes() -> Routes {
    Routes::of::<Sg>(Body::AnyJson)
        .route(ME, get(me), &[(Method::GET, Need::Key)])
        .route(
            "/sg/v1/keys",
            get(keys::list).post(keys::create),
            &[
                (Method::GET, perm!(Keys: List)),
                (Method::POST, perm!(Keys: Create)),
            ],
        )
        .query(Method::GET, &["environment"])
        .body(Method::POST, Body::json::<keys::NewKeyBody>())
        .route(
            "/sg/v1/keys/verify",
            post(keys::verify),
            &[(Method::POST, perm!(Keys: Use))],
        )
        .body(Method::POST, Body::json::<keys::VerifyRequest>())
        .route(
            "/sg/v1/keys/{id}",
            get(keys::get).patch(keys::update).delete(keys::delete),
            &[
                (Method::GET, perm!(Keys: Read)),
                (Method::PATCH, perm!(Keys: Update)),
                (Method::DELETE, perm!(Keys: Delete)),
            ],
        )
        .body(Method::PATCH, Body::json::<keys::KeyPatchBody>())
        .route(
            "/sg/v1/keys/{id}/reroll",
            post(keys::reroll),
            &[(Method::POST, perm!(Keys: Create))],
        )
        .body(Method::POST, Body::json::<keys::RerollBody>())
        .route(
            "/sg/v1/usage",
            get(usage),
            &[(Method::GET, perm!(Usage: Read))],
        )
        .query(Method::GET, &["period"])
        .route(
            "/sg/v1/streams/{id}/publish-token",
            post(publish_token),
            &[(Method::POST, perm!(Streams: Use))],
        )
        .body(Method::POST, Body::None)
        .route(
            "/sg/v1/webhooks/{id}/credential",
            axum::routing::put(webhook_credential),
            // The service also needs `credentials:use` (the credential the deliveries use).
            &[(Method::PUT, perm!(Webhooks: Update))],
        )
        .body(Method::PUT, Body::json::<WebhookCredentialRequest>())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CorsBody<'a> {
    pub allowed_origins: &'a [String],
    pub full_access: bool,
}

/// Borrowed from the cached key: answering `/me` allocates nothing but the body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse<'a> {
    #[schema(value_type = String, example = "01900000-0000-7000-8000-000000000000")]
    pub key_id: uuid::Uuid,
    pub key_name: &'a str,
    #[schema(value_type = String, example = "01900000-0000-7000-8000-000000000000")]
    pub account_id: uuid::Uuid,
    #[schema(value_type = String, example = "production")]
    pub environment: Environment,
    pub cors: CorsBody<'a>,
    pub expires_at: Option<String>,
}

impl<'a> From<&'a KeyInfo> for MeResponse<'a> {
    fn from(k: &'a KeyInfo) -> Self {
        Self {
            key_id: k.id,
            key_name: &k.name,
            account_id: k.account_id,
            environment: k.environment,
            cors: CorsBody {
                allowed_origins: &k.cors.allowed_origins,
                full_access: k.cors.full_access,
            },
            expires_at: k.expires_at.map(rfc3339),
        }
    }
}

/// Who am I: the calling key, in any header style.
#[utoipa::path(get, path = "/sg/v1/me", tag = "streamgate",
    responses((status = 200, body = MeResponse), (status = 401, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn me(Authed(actor, ..): Authed<Sg>) -> Response {
    me_response(&actor.key)
}

/// Any unknown route or method, answered in this dialect.
pub async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError<Sg> {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", uri.path()),
    )
}

pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError<Sg> {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// A short-lived publish token for MediaMTX's JWT mode (`authMethod: jwt`, `authJWTJWKS` =
/// `/.well-known/jwks.json`): `{token, path, expiresIn}`; the encoder publishes to `path?jwt=token`.
pub async fn publish_token(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> SgResult<axum::Json<serde_json::Value>> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "stream not found"))?;
    let (token, path, ttl) = state.svc.issue_publish_token(&actor, id).await?;
    Ok(axum::Json(serde_json::json!({
        "token": token.expose(),
        "path": path,
        "expiresIn": ttl,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCredentialRequest {
    /// Label of the account's `http` or `oauth` Brightcove credential; `null` clears it.
    pub label: Option<String>,
}

/// Makes a webhook's deliveries authenticate with one of the account's credentials: an `http`
/// credential sends Basic auth, an `oauth` one a client-credentials Bearer token. `{id}` is the
/// api.video webhook id (`wh…`).
#[utoipa::path(put, path = "/sg/v1/webhooks/{id}/credential", tag = "streamgate",
    request_body = WebhookCredentialRequest,
    responses((status = 200), (status = 400, body = SgErrorBody), (status = 404, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn webhook_credential(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Json(req, ..): Json<Sg, WebhookCredentialRequest>,
) -> SgResult<axum::Json<serde_json::Value>> {
    let id = domain::public_ids::decode("wh", &id)
        .or_else(|| uuid::Uuid::parse_str(&id).ok())
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "webhook not found"))?;
    let hook = state
        .svc
        .set_webhook_credential(&actor, id, req.label.as_deref())
        .await?;
    Ok(axum::Json(serde_json::json!({
        "webhookId": domain::public_ids::encode("wh", hook.id),
        "credentialLabel": hook.credential_label,
    })))
}

/// Requests and refused authentications per key of the caller's account, per bucket:
/// `?period=hour` (60 × 1 min), `day` (24 × 1 h, the default) or `month` (30 × 1 day).
#[utoipa::path(get, path = "/sg/v1/usage", tag = "streamgate",
    params(("period" = Option<String>, Query, description = "hour | day | month")),
    responses((status = 200), (status = 400, body = SgErrorBody), (status = 401, body = SgErrorBody)),
    security(("bearer" = []), ("basic" = []), ("x-api-key" = [])))]
pub async fn usage(
    State(state): State<AppState>,
    Authed(actor, ..): Authed<Sg>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> SgResult<axum::Json<serde_json::Value>> {
    use service::dashboard::Period;
    let period = match q.get("period").map(String::as_str) {
        None | Some("") => Period::Day,
        Some(p) => Period::parse(p).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("period must be hour, day or month, not {p:?}"),
            )
        })?,
    };
    let r = state.svc.usage_report(&actor, period).await?;
    let keys: Vec<serde_json::Value> = r
        .keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "keyId": k.key_id,
                "name": k.name,
                "environment": k.environment,
                "requests": k.requests,
                "authFailures": k.auth_failures,
                "totalRequests": k.requests.iter().sum::<i64>(),
                "totalAuthFailures": k.auth_failures.iter().sum::<i64>(),
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "period": period.as_str(),
        "start": rfc3339(r.start),
        "stepSeconds": r.step_ms / 1000,
        "buckets": r.period.steps().1,
        "keys": keys,
    })))
}

/// The `/sg/v1/me` body for `key`: serialized once per cached copy of the key (`KeyInfo::memo`)
/// and reused after that. `None` only if it cannot be serialized.
pub fn me_body(key: &KeyInfo) -> Option<Bytes> {
    match key.memo.me_json.get() {
        Some(body) => Some(body.clone()),
        None => {
            let json = serde_json::to_vec(&MeResponse::from(key)).ok()?;
            Some(key.memo.me_json.get_or_init(|| Bytes::from(json)).clone())
        }
    }
}

/// The `/sg/v1/me` response for `key` (the routed handler's).
pub fn me_response(key: &KeyInfo) -> Response {
    match me_body(key) {
        Some(body) => crate::json::body_response(StatusCode::OK, body),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Cors, Environment};

    fn key(name: &str) -> KeyInfo {
        KeyInfo {
            id: uuid::Uuid::nil(),
            account_id: uuid::Uuid::nil(),
            name: name.into(),
            environment: Environment::Sandbox,
            cors: Cors::default(),
            expires_at: None,
            revoked: false,
            permissions: domain::Permissions::all(),
            ratelimit: None,
            credits: None,
            meta: None,
            memo: Default::default(),
        }
    }

    async fn body(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn the_me_body_is_rendered_once_per_copy_of_a_key() {
        let k = key("first \"quoted\"");
        let res = me_response(&k);
        assert_eq!(
            res.headers()[axum::http::header::CONTENT_TYPE],
            "application/json"
        );
        let v = body(res).await;
        assert_eq!(v["keyName"], "first \"quoted\"");
        assert_eq!(v["environment"], "sandbox");
        assert_eq!(
            v,
            serde_json::to_value(MeResponse::from(&k)).unwrap(),
            "same as the schema's serialization"
        );
        assert!(k.memo.me_json.get().is_some(), "remembered");
        assert_eq!(body(me_response(&k)).await, v);
        // A changed key is a new copy: its own body, never the old one.
        let mut changed = k.clone();
        changed.name = "second".into();
        assert_eq!(body(me_response(&changed)).await["keyName"], "second");
    }
}
