//! `X-RateLimit-*` on every response of the API dialects. The rate limit itself is decided in
//! the core (`Services::admit`); this layer gives each request a slot where authentication puts
//! the decision, and copies it into the response's headers, whatever the handler answered.

use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use domain::RateDecision;

use crate::error::rate_headers;

/// Where authentication reports the rate-limit decision of this request.
#[derive(Clone, Default)]
pub struct RateSlot(Arc<OnceLock<RateDecision>>);

impl RateSlot {
    pub fn report(&self, d: RateDecision) {
        let _ = self.0.set(d);
    }
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(d) = slot.0.get() {
        if !res.headers().contains_key("x-ratelimit-limit") {
            rate_headers(res.headers_mut(), *d);
        }
    }
    res
}
