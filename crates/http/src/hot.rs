//! The verify path's hot route, answered before the router.
//!
//! `GET /sg/v1/me` is what every client, SDK health check and load balancer probe calls to ask "is
//! this key good", so it is the request the verify-path benchmark measures (bench/verify.sh). The
//! router's generic dispatch costs more per request than verifying the key does: it boxes the
//! request body, records the peer address, the matched path and the URL parameters in request
//! extensions (each a hash-map allocation), and clones a boxed route service. For this one route
//! the server's accept loop calls [`answer`] directly instead.
//!
//! Nothing else is special about it: the same extractor logic ([`authenticate`]), the same
//! response body as the routed handler, the same error rendering, and the same metrics series
//! (`route="/sg/v1/me"`). Any other method or path goes through the router as before.

use std::time::Instant;

use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use http_body_util::{BodyExt, Either, Full};

use super::auth::{authenticate_any, count_refusal};
use super::dialect::sg::{me_body, Sg, ME};
use super::error::{rate_headers, ApiError, Dialect, Refusal};
use super::metrics::FixedRoute;
use super::AppState;
use domain::{AuthFailure, Error};

/// What the accept loop answers with: the hot route's own body, not boxed, or the router's.
pub type AnyBody = Either<Full<Bytes>, Body>;

/// Whether the accept loop should answer `req` with [`Hot::answer`] rather than the router. HEAD,
/// other methods and other paths take the router (which also answers 405 in the right dialect).
pub fn is_hot<B>(req: &Request<B>) -> bool {
    // A browser's request (with an Origin) takes the router, where the CORS layer is.
    req.method() == Method::GET
        && req.uri().path() == ME
        && !req.headers().contains_key(axum::http::header::ORIGIN)
}

/// The hot route's state: the app's, its metrics series found once, and its refusals rendered
/// once each.
pub struct Hot {
    state: AppState,
    me: FixedRoute,
    /// By `AuthFailure`: the response the dialect renders for it (the same for every request).
    refusals: [OnceLock<Rendered>; AuthFailure::ALL.len()],
}

/// A response kept to be sent again.
struct Rendered {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Hot {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            me: FixedRoute::new(ME, "GET", [200, 401]),
            refusals: Default::default(),
        }
    }

    /// Answers a hot request exactly as the routed handler would.
    pub async fn answer<B>(&self, req: Request<B>) -> axum::http::Response<AnyBody> {
        let start = Instant::now();
        let response = match authenticate_any(&self.state, req.headers()).await {
            Ok(actor) => match me_body(&actor.key) {
                Some(body) => {
                    let mut res =
                        super::json::json_response_of(StatusCode::OK, Either::Left(body.into()));
                    if let Some(d) = actor.rate {
                        rate_headers(res.headers_mut(), d);
                    }
                    res
                }
                None => StatusCode::INTERNAL_SERVER_ERROR
                    .into_response()
                    .map(Either::Right),
            },
            Err(e) => {
                count_refusal(&self.state, Sg::NAME, &e);
                self.refused(e).await
            }
        };
        drop(req);
        self.me
            .request_done(&self.state.metrics, response.status().as_u16(), start);
        response
    }
}

impl Hot {
    /// The dialect's response to `e`. A refused credential's is rendered the first time and sent
    /// again after that: it depends on nothing but the kind of refusal.
    async fn refused(&self, e: Error) -> axum::http::Response<AnyBody> {
        let Error::Unauthenticated(failure) = e else {
            let res = ApiError::<Sg>::from(e).into_response();
            if let Some(r) = res.extensions().get::<Refusal>() {
                self.state.metrics.auth_failure(r.dialect, r.reason);
            }
            return res.map(Either::Right);
        };
        let slot = &self.refusals[failure.index()];
        let rendered = match slot.get() {
            Some(r) => r,
            None => {
                let response = ApiError::<Sg>::from(e).into_response();
                let (parts, body) = response.into_parts();
                let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
                    return StatusCode::INTERNAL_SERVER_ERROR
                        .into_response()
                        .map(Either::Right);
                };
                slot.get_or_init(|| Rendered {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                })
            }
        };
        let mut res = axum::http::Response::new(Either::Left(Full::new(rendered.body.clone())));
        *res.status_mut() = rendered.status;
        *res.headers_mut() = rendered.headers.clone();
        res
    }
}
