//! Edgecast's DCP stream-key API at `/v2/mcc/customers/{AccountNumber}/httpstreaming/dcp/…`, with
//! `Authorization: TOK:<key>` (any header style works). The key must belong to the account the
//! URL names (403 otherwise). Errors: `{"Message":"…"}`.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::auth::authenticate;
use crate::error::{ApiError, Dialect};
use crate::json::Json;
use crate::routes::{Body, DialectDoc, Routes};
use crate::{perm, AppState};
use domain::SecretString;
use domain::{AccountNumber, Actor, Error};
use service::stream_keys::StreamKey;

pub struct Edgecast;

#[derive(Serialize)]
struct Message<'a> {
    #[serde(rename = "Message")]
    message: &'a str,
}

impl Dialect for Edgecast {
    const NAME: &'static str = "edgecast";
    const DOC: DialectDoc = DialectDoc {
        tag: "edgecast",
        key_schemes: &["tok", "bearer", "basic", "x-api-key"],
        error_content_type: "application/json",
        error_schema: r#"{"type":"object","required":["Message"],"properties":{"Message":{"type":"string"}}}"#,
    };

    fn render(status: StatusCode, _code: &'static str, message: &str) -> Response {
        (status, axum::Json(Message { message })).into_response()
    }

    /// Edgecast answers a duplicate DirPath with 400, not 409, and names what was not found. An
    /// instance another account owns (`Error::Owned`) keeps the shared 409.
    fn reword(e: &Error) -> Option<EcError> {
        match e {
            Error::Conflict(what) => Some(EcError::new(
                StatusCode::BAD_REQUEST,
                "conflict",
                what.clone(),
            )),
            Error::NotFound(_) => Some(EcError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "The requested stream key was not found.",
            )),
            _ => None,
        }
    }
}

type EcError = ApiError<Edgecast>;
type EcResult<T> = Result<T, EcError>;

/// A caller whose key belongs to the account in the URL.
pub struct Ec(pub Actor);

impl FromRequestParts<AppState> for Ec {
    type Rejection = EcError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> EcResult<Self> {
        let actor = authenticate::<Edgecast>(state, parts).await?;
        let in_url = parts.uri.path().split('/').nth(4).unwrap_or("");
        let forbidden = || {
            EcError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("This token may not access customer account {in_url}."),
            )
        };
        let number = AccountNumber::parse(in_url).map_err(|_| forbidden())?;
        let own = state.svc.is_own_account_number(&actor, &number).await?;
        if !own {
            state.metrics.auth_failure(Edgecast::NAME, "wrong_account");
            return Err(forbidden());
        }
        Ok(Ec(actor))
    }
}

#[derive(Serialize)]
struct StreamKeyBody {
    #[serde(rename = "DirPath")]
    dir_path: String,
    #[serde(rename = "Id")]
    id: i64,
    #[serde(rename = "Key")]
    key: String,
}

impl From<&StreamKey> for StreamKeyBody {
    fn from(k: &StreamKey) -> Self {
        Self {
            dir_path: k.dir_path.clone(),
            id: k.id,
            key: k.key.expose().to_string(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EdgecastStreamKey)]
#[serde(deny_unknown_fields)]
pub struct StreamKeyInput {
    #[serde(rename = "DirPath")]
    dir_path: String,
    #[serde(rename = "Key")]
    #[schema(value_type = String)]
    key: SecretString,
    /// Accepted (and ignored) on updates, where clients often echo the object back.
    #[serde(rename = "Id", default)]
    #[allow(dead_code)]
    id: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EdgecastGlobalKey)]
#[serde(deny_unknown_fields)]
pub struct GlobalKeyInput {
    #[serde(rename = "Key")]
    #[schema(value_type = String)]
    key: SecretString,
}

const BASE: &str = "/v2/mcc/customers/{account}/httpstreaming/dcp";

pub fn routes() -> Routes {
    Routes::of::<Edgecast>(Body::AnyJson)
        .route(
            &format!("{BASE}/{{resource}}"),
            get(get_resource).post(create).put(put_global),
            &[
                (Method::GET, perm!(StreamKeys: List)),
                (Method::POST, perm!(StreamKeys: Create)),
                (Method::PUT, perm!(StreamKeys: Update)),
            ],
        )
        .query(Method::GET, &["id"])
        .body(Method::POST, Body::json::<StreamKeyInput>())
        .body(Method::PUT, Body::json::<GlobalKeyInput>())
        .route(
            &format!("{BASE}/streamkeys/{{id}}"),
            get(get_one).put(update).delete(delete),
            &[
                (Method::GET, perm!(StreamKeys: Read)),
                (Method::PUT, perm!(StreamKeys: Update)),
                (Method::DELETE, perm!(StreamKeys: Delete)),
            ],
        )
        .body(Method::PUT, Body::json::<StreamKeyInput>())
}

/// `streamkeys` (list, or one with `?id=N`), `streamkeys&id=N` (one) or `globalkey`.
async fn get_resource(
    State(state): State<AppState>,
    Ec(actor): Ec,
    Path((_, resource)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> EcResult<Response> {
    if resource == "globalkey" {
        let key = state.svc.global_key(&actor).await?;
        return Ok(axum::Json(serde_json::json!({
            "Key": key.as_ref().map(|k| k.expose()).unwrap_or(""),
        }))
        .into_response());
    }
    let id = match resource.strip_prefix("streamkeys") {
        Some("") => q.get("id").cloned(),
        Some(rest) => Some(
            rest.strip_prefix("&id=")
                .ok_or_else(|| EcError::from(Error::NotFound("resource")))?
                .to_string(),
        ),
        None => return Err(EcError::from(Error::NotFound("resource"))),
    };
    match id {
        None => {
            let all = state.svc.list_stream_keys(&actor).await?;
            Ok(axum::Json(all.iter().map(StreamKeyBody::from).collect::<Vec<_>>()).into_response())
        }
        Some(id) => one(&state, &actor, &id).await,
    }
}

async fn one(state: &AppState, actor: &Actor, id: &str) -> EcResult<Response> {
    let id = parse_id(id)?;
    let k = state.svc.get_stream_key(actor, id).await?;
    Ok(axum::Json(StreamKeyBody::from(&k)).into_response())
}

fn parse_id(id: &str) -> EcResult<i64> {
    id.parse::<i64>().map_err(|_| {
        EcError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("Id must be an integer (got {id:?})."),
        )
    })
}

async fn get_one(
    State(state): State<AppState>,
    Ec(actor): Ec,
    Path((_, id)): Path<(String, String)>,
) -> EcResult<Response> {
    one(&state, &actor, &id).await
}

async fn create(
    State(state): State<AppState>,
    Ec(actor): Ec,
    Path((_, resource)): Path<(String, String)>,
    Json(body, ..): Json<Edgecast, StreamKeyInput>,
) -> EcResult<axum::Json<StreamKeyBody>> {
    if resource != "streamkeys" {
        return Err(EcError::from(Error::NotFound("resource")));
    }
    let k = state
        .svc
        .create_stream_key(&actor, &body.dir_path, body.key)
        .await?;
    Ok(axum::Json(StreamKeyBody::from(&k)))
}

async fn update(
    State(state): State<AppState>,
    Ec(actor): Ec,
    Path((_, id)): Path<(String, String)>,
    Json(body, ..): Json<Edgecast, StreamKeyInput>,
) -> EcResult<axum::Json<StreamKeyBody>> {
    let k = state
        .svc
        .update_stream_key(&actor, parse_id(&id)?, &body.dir_path, body.key)
        .await?;
    Ok(axum::Json(StreamKeyBody::from(&k)))
}

async fn delete(
    State(state): State<AppState>,
    Ec(actor): Ec,
    Path((_, id)): Path<(String, String)>,
) -> EcResult<StatusCode> {
    state.svc.delete_stream_key(&actor, parse_id(&id)?).await?;
    Ok(StatusCode::OK)
}

async fn put_global(
    State(state): State<AppState>,
    Ec(actor): Ec,
    Path((_, resource)): Path<(String, String)>,
    Json(body, ..): Json<Edgecast, GlobalKeyInput>,
) -> EcResult<Response> {
    if resource != "globalkey" {
        return Err(EcError::from(Error::NotFound("resource")));
    }
    state.svc.set_global_key(&actor, body.key.clone()).await?;
    Ok(axum::Json(serde_json::json!({ "Key": body.key.expose() })).into_response())
}
