//! The routes clients poll, answered before the router.
//!
//! `GET /sg/v1/me` is what every client, SDK health check and load balancer probe calls to ask "is
//! this key good" (bench/verify.sh), and a stream's `GET` and its list pages are what dashboards
//! and players poll (bench/read.sh); nginx asks `GET /ingest/nginx/auth-request` for every HLS
//! file a viewer fetches (bench/playback.sh). The router's generic dispatch costs more per request than
//! answering these from memory does: it boxes the request body, records the peer address, the
//! matched path and the URL parameters in request extensions (each a hash-map allocation), clones
//! a boxed route service and runs the middleware chain (CORS, rate-limit headers, api.video's
//! guard) as boxed futures. For these routes the server's accept loop calls [`Hot::answer`]
//! directly instead.
//!
//! Nothing else is special about them: the same authentication and admission (the core's policy:
//! origin, rate limit, credits; api.video's per-address throttle of bad keys), the same handler
//! code (`get_body`, `list_page`, `list_body` of each dialect, which the routed handlers call
//! too), the same error rendering, the same `X-RateLimit-*` headers and the same metrics series
//! (the router's route templates). A request a browser sends (with an `Origin`) takes the router,
//! where the CORS layer is; so do other methods and paths, HEAD, and ids with escapes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::IntoResponse;
use http_body_util::{BodyExt, Either, Full};

use super::auth::{admit, authenticate_any, count_refusal};
use super::dialect::apivideo::{self, live_streams, ApiVideo};
use super::dialect::livepeer::{streams, Livepeer};
use super::dialect::sg::{me_body, Sg, ME};
use super::error::{rate_headers, ApiError, Dialect, Refusal};
use super::ingest::nginx_http;
use super::metrics::FixedRoute;
use super::AppState;
use domain::{Actor, AuthFailure, Error, RateDecision};

/// What the accept loop answers with: the hot route's own body, not boxed, or the router's.
pub type AnyBody = Either<Full<Bytes>, Body>;

type HotResponse = axum::http::Response<AnyBody>;

/// A route the accept loop answers itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HotRoute {
    /// `GET /sg/v1/me`
    Me,
    /// Livepeer's `GET /api/stream/{id}`
    LpStream,
    /// Livepeer's `GET /api/stream`
    LpStreams,
    /// api.video's `GET /live-streams/{id}`
    AvStream,
    /// api.video's `GET /live-streams`
    AvStreams,
    /// nginx's `auth_request` in front of HLS: `GET /ingest/nginx/auth-request`, asked for every
    /// playlist and segment a viewer fetches
    AuthRequest,
}

const LP_STREAM: &str = "/api/stream/";
const LP_STREAMS: &str = "/api/stream";
const AV_STREAM: &str = "/live-streams/";
const AV_STREAMS: &str = "/live-streams";
const AUTH_REQUEST: &str = "/ingest/nginx/auth-request";

impl HotRoute {
    const ALL: [HotRoute; 6] = [
        HotRoute::Me,
        HotRoute::LpStream,
        HotRoute::LpStreams,
        HotRoute::AvStream,
        HotRoute::AvStreams,
        HotRoute::AuthRequest,
    ];

    /// The route template the router matches (the metrics label).
    pub fn template(self) -> &'static str {
        match self {
            HotRoute::Me => ME,
            HotRoute::LpStream => "/api/stream/{id}",
            HotRoute::LpStreams => LP_STREAMS,
            HotRoute::AvStream => "/live-streams/{id}",
            HotRoute::AvStreams => AV_STREAMS,
            HotRoute::AuthRequest => AUTH_REQUEST,
        }
    }

    /// The statuses whose metrics series are found once and kept.
    fn common_statuses(self) -> [u16; 2] {
        match self {
            HotRoute::Me => [200, 401],
            HotRoute::LpStream | HotRoute::AvStream => [200, 404],
            HotRoute::LpStreams | HotRoute::AvStreams => [200, 400],
            HotRoute::AuthRequest => [200, 403],
        }
    }
}

/// The hot route the accept loop should answer `req` with, or `None` for the router. HEAD, other
/// methods and other paths take the router (which also answers 405 in the right dialect).
pub fn hot_route<B>(req: &Request<B>) -> Option<HotRoute> {
    // A browser's request (with an Origin) takes the router, where the CORS layer is.
    if req.method() != Method::GET || req.headers().contains_key(header::ORIGIN) {
        return None;
    }
    let path = req.uri().path();
    match path {
        ME => Some(HotRoute::Me),
        LP_STREAMS => Some(HotRoute::LpStreams),
        AV_STREAMS => Some(HotRoute::AvStreams),
        AUTH_REQUEST => Some(HotRoute::AuthRequest),
        _ => {
            if path.strip_prefix(LP_STREAM).is_some_and(plain_segment) {
                Some(HotRoute::LpStream)
            } else if path.strip_prefix(AV_STREAM).is_some_and(plain_segment) {
                Some(HotRoute::AvStream)
            } else {
                None
            }
        }
    }
}

/// One path segment the router would hand to `Path` unchanged: not empty, no `/`, no escape.
fn plain_segment(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '%'])
}

/// The hot routes' state: the app's, their metrics series found once, and `/sg/v1/me`'s
/// refusals rendered once each.
pub struct Hot {
    state: AppState,
    series: [FixedRoute; HotRoute::ALL.len()],
    /// By `AuthFailure`: the response the dialect renders for it (the same for every request).
    refusals: [OnceLock<Rendered>; AuthFailure::ALL.len()],
}

/// A response kept to be sent again.
struct Rendered {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

fn json_ok(body: impl Into<Bytes>) -> HotResponse {
    super::json::json_response_of(StatusCode::OK, Either::Left(Full::new(body.into())))
}

fn rendered<D: Dialect>(e: ApiError<D>) -> HotResponse {
    e.into_response().map(Either::Right)
}

/// `X-RateLimit-*` from the request's decision, unless the response has them already (what the
/// router's `ratelimit_headers` layer does).
fn with_rate(mut res: HotResponse, rate: Option<RateDecision>) -> HotResponse {
    if let Some(d) = rate {
        if !res.headers().contains_key("x-ratelimit-limit") {
            rate_headers(res.headers_mut(), d);
        }
    }
    res
}

/// The query string as the router's `Query<HashMap<String, String>>` reads it.
fn query_of(uri: &axum::http::Uri) -> Result<HashMap<String, String>, Error> {
    serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| Error::Invalid("the query string cannot be read".into()))
}

impl Hot {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            series: HotRoute::ALL
                .map(|r| FixedRoute::new(r.template(), "GET", r.common_statuses())),
            refusals: Default::default(),
        }
    }

    /// Answers a hot request exactly as the router would.
    pub async fn answer<B>(
        &self,
        route: HotRoute,
        req: Request<B>,
        peer: SocketAddr,
    ) -> HotResponse {
        let start = Instant::now();
        let (parts, body) = req.into_parts();
        drop(body);
        let (headers, uri) = (&parts.headers, &parts.uri);
        let res = match route {
            HotRoute::Me => self.me(headers).await,
            HotRoute::LpStream | HotRoute::LpStreams => {
                let (rate, result) = admit::<Livepeer>(&self.state, headers).await;
                let res = match result {
                    Ok(actor) => self.livepeer(route, &actor, headers, uri).await,
                    Err(refused) => rendered(refused),
                };
                with_rate(res, rate)
            }
            HotRoute::AvStream | HotRoute::AvStreams => {
                let (rate, result) = apivideo::admit(&self.state, headers, Some(peer)).await;
                let res = match result {
                    Ok(actor) => self.apivideo(route, &actor, headers, uri).await,
                    Err(refused) => refused.map(Either::Right),
                };
                with_rate(res, rate)
            }
            HotRoute::AuthRequest => {
                let status = nginx_http::answer(&self.state, uri, headers).await;
                let mut res = axum::http::Response::new(Either::Left(Full::new(Bytes::new())));
                *res.status_mut() = status;
                res
            }
        };
        if let Some(r) = res.extensions().get::<Refusal>() {
            self.state.metrics.auth_failure(r.dialect, r.reason);
        }
        self.series[route as usize].request_done(&self.state.metrics, res.status().as_u16(), start);
        res
    }

    async fn livepeer(
        &self,
        route: HotRoute,
        actor: &Actor,
        headers: &HeaderMap,
        uri: &axum::http::Uri,
    ) -> HotResponse {
        let answered: Result<_, ApiError<Livepeer>> = async {
            if route == HotRoute::LpStream {
                let id = uri.path().get(LP_STREAM.len()..).unwrap_or_default();
                return Ok(json_ok(streams::get_body(&self.state, actor, id).await?));
            }
            let q = query_of(uri)?;
            let (body, link) = streams::list_page(&self.state, actor, uri, headers, &q).await?;
            let mut res = json_ok(body);
            if let Some(link) = link {
                res.headers_mut().insert(header::LINK, link);
            }
            Ok(res)
        }
        .await;
        answered.unwrap_or_else(rendered)
    }

    async fn apivideo(
        &self,
        route: HotRoute,
        actor: &Actor,
        headers: &HeaderMap,
        uri: &axum::http::Uri,
    ) -> HotResponse {
        let answered: Result<_, ApiError<ApiVideo>> = async {
            if route == HotRoute::AvStream {
                let id = uri.path().get(AV_STREAM.len()..).unwrap_or_default();
                return live_streams::get_body(&self.state, actor, headers, id).await;
            }
            let q = query_of(uri)?;
            live_streams::list_body(&self.state, actor, headers, uri.path(), &q).await
        }
        .await;
        answered.map(json_ok).unwrap_or_else(rendered)
    }

    /// `GET /sg/v1/me`, as the routed handler answers it.
    async fn me(&self, headers: &HeaderMap) -> HotResponse {
        match authenticate_any(&self.state, headers).await {
            Ok(actor) => match me_body(&actor.key) {
                Some(body) => with_rate(json_ok(body), actor.rate),
                None => StatusCode::INTERNAL_SERVER_ERROR
                    .into_response()
                    .map(Either::Right),
            },
            Err(e) => {
                count_refusal(&self.state, Sg::NAME, &e);
                self.refused(e).await
            }
        }
    }
}

impl Hot {
    /// The dialect's response to `e`. A refused credential's is rendered the first time and sent
    /// again after that: it depends on nothing but the kind of refusal.
    async fn refused(&self, e: Error) -> HotResponse {
        let Error::Unauthenticated(failure) = e else {
            return rendered(ApiError::<Sg>::from(e));
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
