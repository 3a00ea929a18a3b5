//! `GET /account` (the seed's "Show account"): the quota is the number of videos the key's
//! environment holds, with no limit (`remaining` and `total` null: a self-hosted server sets none),
//! and the term starts when the account was made.

use axum::extract::State;
use serde_json::{json, Value};

use super::{Av, AvResult};
use crate::AppState;
use domain::clock::rfc3339;

pub async fn get(State(state): State<AppState>, Av(actor): Av) -> AvResult<axum::Json<Value>> {
    let (account, videos) = state.svc.account_with_videos(&actor).await?;
    Ok(axum::Json(json!({
        "quota": {"used": videos, "remaining": null, "total": null},
        "term": {"startAt": rfc3339(account.created_at), "endAt": null},
        "features": [],
        "environment": actor.environment().as_str(),
    })))
}
