//! Brightcove Live's credentials API at `/v1/credentials`, with `X-API-KEY` (any header style
//! works). `credential_private` is never returned in clear. Errors: `{"error":"…"}`.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::Authed;
use crate::error::{ApiError, Dialect};
use crate::json::Json;
use crate::routes::{Body, DialectDoc, Routes};
use crate::{perm, AppState};
use domain::credential::{mask, Credential, CredentialType};
use domain::Error;
use domain::SecretString;
use service::credentials::CredentialInput;

pub struct Brightcove;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl Dialect for Brightcove {
    const NAME: &'static str = "brightcove";
    const DOC: DialectDoc = DialectDoc {
        tag: "brightcove",
        key_schemes: &["x-api-key", "bearer", "basic", "tok"],
        error_content_type: "application/json",
        error_schema: r#"{"type":"object","required":["error"],"properties":{"error":{"type":"string"}}}"#,
    };

    fn render(status: StatusCode, _code: &'static str, message: &str) -> Response {
        (status, axum::Json(ErrorBody { error: message })).into_response()
    }
}

type BcError = ApiError<Brightcove>;
type BcResult<T> = Result<T, BcError>;
type Bc = Authed<Brightcove>;

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = BrightcoveCredential)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    credential_label: String,
    credential_type: String,
    credential_public: String,
    #[schema(value_type = Option<String>)]
    credential_private: Option<SecretString>,
    #[serde(default)]
    credential_default_for_type: bool,
    #[serde(default)]
    credential_token_url: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

impl CredentialBody {
    fn into_input(self) -> BcResult<CredentialInput> {
        Ok(CredentialInput {
            user_id: self.user_id.filter(|u| !u.is_empty()),
            label: self.credential_label,
            kind: CredentialType::parse(&self.credential_type)?,
            public: self.credential_public,
            private: self.credential_private,
            default_for_type: self.credential_default_for_type,
            token_url: self.credential_token_url,
        })
    }
}

fn render(c: &Credential) -> Value {
    let mut v = json!({
        "credential_id": c.id.to_string(),
        "credential_label": c.label,
        "credential_type": c.kind.as_str(),
        "credential_public": c.public,
        "credential_private": mask(c.private.expose()),
        "credential_default_for_type": c.default_for_type,
        "user_id": c.user_id,
    });
    if let Some(u) = &c.token_url {
        v["credential_token_url"] = json!(u);
    }
    v
}

fn created(c: &Credential) -> Value {
    json!({
        "credential_id": c.id.to_string(),
        "user_id": c.user_id,
        "credential_label": c.label,
    })
}

fn parse_id(id: &str) -> BcResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::NotFound("credential").into())
}

pub fn routes() -> Routes {
    Routes::of::<Brightcove>(Body::json::<CredentialBody>())
        .route(
            "/v1/credentials",
            get(list).post(create),
            &[
                (Method::GET, perm!(Credentials: List)),
                (Method::POST, perm!(Credentials: Create)),
            ],
        )
        .route(
            "/v1/credentials/{id}",
            put(update).delete(delete).get(get_one),
            &[
                (Method::PUT, perm!(Credentials: Update)),
                (Method::DELETE, perm!(Credentials: Delete)),
                (Method::GET, perm!(Credentials: Read)),
            ],
        )
        .route(
            "/v1/audit",
            get(audit),
            &[(Method::GET, perm!(Audit: List))],
        )
        .query(Method::GET, &["since", "limit"])
}

async fn list(State(state): State<AppState>, Authed(actor, ..): Bc) -> BcResult<axum::Json<Value>> {
    let all = state.svc.list_credentials(&actor).await?;
    Ok(axum::Json(json!({
        "user_id": actor.account_id().to_string(),
        "credentials": all.iter().map(render).collect::<Vec<_>>(),
    })))
}

async fn get_one(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
) -> BcResult<axum::Json<Value>> {
    let c = state.svc.get_credential(&actor, parse_id(&id)?).await?;
    Ok(axum::Json(render(&c)))
}

async fn create(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Json(body, ..): Json<Brightcove, CredentialBody>,
) -> BcResult<axum::Json<Value>> {
    let c = state
        .svc
        .create_credential(&actor, body.into_input()?)
        .await?;
    Ok(axum::Json(created(&c)))
}

async fn update(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
    Json(body, ..): Json<Brightcove, CredentialBody>,
) -> BcResult<axum::Json<Value>> {
    let c = state
        .svc
        .update_credential(&actor, parse_id(&id)?, body.into_input()?)
        .await?;
    Ok(axum::Json(created(&c)))
}

async fn delete(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    Path(id): Path<String>,
) -> BcResult<StatusCode> {
    state.svc.delete_credential(&actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/audit?since=…&limit=…`: the account's audit log (the key's environment), newest
/// first. Needs `audit:list`, which browser keys without full access do not hold.
async fn audit(
    State(state): State<AppState>,
    Authed(actor, ..): Bc,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> BcResult<axum::Json<Value>> {
    let since = match q.get("since").filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => domain::clock::parse_rfc3339_ms(s)
            .or_else(|| s.parse::<i64>().ok())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "since must be an RFC 3339 time or milliseconds (got {s:?})"
                ))
            })?,
    };
    let limit = match q.get("limit").filter(|s| !s.is_empty()) {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Error::Invalid("limit must be an integer from 1 to 1000".into()))?,
    };
    let events = state.svc.query_audit(&actor, None, since, limit).await?;
    Ok(axum::Json(json!({
        "events": events.iter().map(domain::AuditEvent::to_json).collect::<Vec<_>>(),
    })))
}
