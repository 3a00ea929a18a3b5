//! `POST /auth/api-key` and `POST /auth/refresh`: disposable Bearer tokens.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiVideo, AvError, AvResult};
use crate::json::Json;
use crate::AppState;
use domain::SecretString;
use domain::{AuthFailure, Error};
use service::tokens::TokenPair;

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ApiVideoApiKey)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyBody {
    #[schema(value_type = String)]
    api_key: SecretString,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ApiVideoRefresh)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

#[derive(Serialize)]
pub struct TokenBody {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
}

impl From<TokenPair> for TokenBody {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access_token.expose().to_string(),
            refresh_token: p.refresh_token.expose().to_string(),
            token_type: "Bearer",
            expires_in: p.expires_in,
        }
    }
}

fn refused(e: Error) -> AvError {
    match e {
        // api.video answers a bad key or token with 400 "invalid credentials", not 401.
        Error::Unauthenticated(f) => AvError::new(
            StatusCode::BAD_REQUEST,
            "authentication_invalid_credentials",
            match f {
                AuthFailure::Revoked => "The credentials provided have been revoked.",
                AuthFailure::Expired => "The credentials provided have expired.",
                _ => "The credentials provided are invalid.",
            },
        ),
        other => other.into(),
    }
}

pub async fn api_key(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Json(body, ..): Json<ApiVideo, ApiKeyBody>,
) -> AvResult<axum::Json<TokenBody>> {
    let pair = state
        .svc
        .issue_tokens(body.api_key.expose(), crate::auth::origin(&headers))
        .await
        .map_err(refused)?;
    Ok(axum::Json(pair.into()))
}

pub async fn refresh(
    State(state): State<AppState>,
    Json(body, ..): Json<ApiVideo, RefreshBody>,
) -> AvResult<axum::Json<TokenBody>> {
    let pair = state
        .svc
        .refresh_tokens(body.refresh_token.expose())
        .await
        .map_err(refused)?;
    Ok(axum::Json(pair.into()))
}
