//! `/api/access-control/signing-key…`: Livepeer's playback signing keys. The private key is in
//! the create answer only (base64 of its PKCS#8 PEM); streamgate keeps the public half.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{created_status, parse_id, Livepeer, Lp, LpError, LpResult};
use crate::json::Json;
use crate::AppState;
use domain::PlaybackKey;

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[schema(as = LivepeerNewSigningKey)]
#[serde(deny_unknown_fields)]
pub struct NewSigningKeyBody {
    name: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LivepeerSigningKeyPatch)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyPatchBody {
    name: Option<String>,
    disabled: Option<bool>,
}

fn render(k: &PlaybackKey) -> Value {
    let mut v = json!({
        "id": k.id.to_string(),
        "name": k.name,
        "userId": k.account_id.to_string(),
        "createdAt": k.created_at,
        "publicKey": k.public_key,
        "disabled": k.disabled,
    });
    if let Some(at) = k.last_seen_at {
        v["lastSeen"] = json!(at);
    }
    v
}

/// The create body is optional (the SDKs send none, with no or an octet-stream content type):
/// empty means a default name; anything else must be Livepeer's JSON `{name}`.
fn new_key_body(body: &[u8]) -> LpResult<NewSigningKeyBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(NewSigningKeyBody::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        LpError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("invalid signing key body: {e}"),
        )
    })
}

pub async fn create(
    State(state): State<AppState>,
    Lp(actor): Lp,
    headers: HeaderMap,
    body: Bytes,
) -> LpResult<Response> {
    let body = new_key_body(&body)?;
    let created = state
        .svc
        .create_playback_key(&actor, body.name.as_deref())
        .await?;
    let mut v = render(&created.key);
    v["privateKey"] = json!(created.private_key.expose());
    Ok((created_status(&headers), axum::Json(v)).into_response())
}

pub async fn list(State(state): State<AppState>, Lp(actor): Lp) -> LpResult<Response> {
    let keys = state.svc.list_playback_keys(&actor).await?;
    let body: Vec<Value> = keys.iter().map(render).collect();
    Ok(axum::Json(body).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<Response> {
    let k = state
        .svc
        .get_playback_key(&actor, parse_id(&id, "signing key")?)
        .await?;
    Ok(axum::Json(render(&k)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
    Json(body, ..): Json<Livepeer, SigningKeyPatchBody>,
) -> LpResult<StatusCode> {
    state
        .svc
        .update_playback_key(
            &actor,
            parse_id(&id, "signing key")?,
            body.name.as_deref(),
            body.disabled,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<AppState>,
    Lp(actor): Lp,
    Path(id): Path<String>,
) -> LpResult<StatusCode> {
    state
        .svc
        .delete_playback_key(&actor, parse_id(&id, "signing key")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_body_is_optional() {
        assert!(new_key_body(b"").unwrap().name.is_none());
        assert!(new_key_body(b" \n").unwrap().name.is_none());
        assert_eq!(
            new_key_body(br#"{"name":"k"}"#).unwrap().name.as_deref(),
            Some("k")
        );
        assert!(new_key_body(b"nope").is_err());
        assert!(new_key_body(br#"{"name":"k","x":1}"#).is_err());
    }
}
