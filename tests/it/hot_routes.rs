//! The routes the accept loop answers itself (`http::hot`: `/sg/v1/me`, a stream's `GET` and the
//! stream lists of Livepeer and api.video) answer every request exactly as the router does —
//! status, headers and body — whether it succeeds, is refused, names a missing, malformed or
//! foreign object, or has a bad query; and the requests they must not take (a browser's, HEAD,
//! escaped ids) go to the router.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::common::{new_key, setup, Setup};
use streamgate::domain::Permissions;
use streamgate::http::hot::{hot_route, Hot, HotRoute};
use streamgate::testkit::Backend;

/// What a client sees of an answer. `X-RateLimit-Remaining` is kept as present or not: the two
/// answers are two requests, so it counts down between them. `Content-Length` is framing, which
/// hyper writes from the body on the wire (the router's responses carry it already).
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

async fn answer_of(res: axum::http::Response<impl axum::body::HttpBody>) -> Answer {
    let status = res.status().as_u16();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(k, _)| *k != "content-length")
        .map(|(k, v)| {
            let v = if k == "x-ratelimit-remaining" {
                "(counted)".to_string()
            } else {
                v.to_str().unwrap().to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    headers.sort();
    let body = match res.into_body().collect().await {
        Ok(b) => String::from_utf8(b.to_bytes().to_vec()).unwrap(),
        Err(_) => panic!("body"),
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn request(method: &Method, path: &str, auth: Option<&str>, origin: bool) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "sg.example:8080");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if origin {
        req = req.header("origin", "https://app.example");
    }
    req.body(Body::empty()).unwrap()
}

struct Both {
    s: Setup,
    hot: Hot,
    peer: SocketAddr,
}

impl Both {
    /// The router's and the hot route's answer to the same GET; the hot route must take it.
    async fn check(&self, path: &str, auth: Option<&str>, want: HotRoute) -> Answer {
        self.check_with(path, auth, &[], want).await
    }

    /// The same, with more request headers.
    async fn check_with(
        &self,
        path: &str,
        auth: Option<&str>,
        extra: &[(&str, &str)],
        want: HotRoute,
    ) -> Answer {
        let with = |mut req: Request<Body>| {
            for (k, v) in extra {
                req.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    axum::http::HeaderValue::from_str(v).unwrap(),
                );
            }
            req
        };
        let req = with(request(&Method::GET, path, auth, false));
        assert_eq!(hot_route(&req), Some(want), "{path} takes the hot route");
        let hot = answer_of(self.hot.answer(want, req, self.peer).await).await;
        let mut req = with(request(&Method::GET, path, auth, false));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let routed = streamgate::app(self.s.server.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let routed = answer_of(routed).await;
        assert_eq!(hot, routed, "GET {path} with {auth:?}");
        hot
    }
}

/// A Livepeer stream made with `secret`'s key: its id.
async fn new_stream(s: &Setup, secret: &str, name: &str) -> String {
    let res = s
        .http
        .post(s.url("/api/stream"))
        .bearer_auth(secret)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    created["id"].as_str().unwrap().to_string()
}

fn bearer(secret: &str) -> Option<String> {
    Some(format!("Bearer {secret}"))
}

#[tokio::test]
async fn hot_routes_answer_exactly_as_the_router() {
    let s = setup(Backend::Sqlite).await;
    let both = Both {
        hot: Hot::new(s.server.state.clone()),
        peer: "127.0.0.1:40000".parse().unwrap(),
        s,
    };
    let s = &both.s;
    let key = bearer(s.secret());
    let key = key.as_deref();
    let mut ids = vec![];
    for n in 0..5 {
        ids.push(new_stream(s, s.secret(), &format!("cam-{n}")).await);
    }
    let av: Value = s.get_json_as("/live-streams?pageSize=1", s.secret()).await;
    let av_id = av["data"][0]["liveStreamId"].as_str().unwrap().to_string();

    // Another account's stream, and keys that may not read streams or are not keys at all.
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let other_key = new_key(&s.server, other.id, "other", |_| {}).await;
    let foreign = new_stream(s, other_key.secret.expose(), "theirs").await;
    let webhooks_only = s
        .new_key("webhooks-only", |r| {
            r.policy.permissions = Some(Permissions::parse(&["webhooks:*"]).unwrap())
        })
        .await;
    let limited = bearer(webhooks_only.secret.expose());
    let limited = limited.as_deref();
    let basic = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{}:", s.secret()));
        format!("Basic {b64}")
    };
    let bad = Some("Bearer sg_production_nope");
    let none: Option<&str> = None;

    // Me.
    let me = both.check("/sg/v1/me", key, HotRoute::Me).await;
    assert_eq!(me.status, 200);
    for auth in [none, bad, Some("Digest x")] {
        assert_eq!(
            both.check("/sg/v1/me", auth, HotRoute::Me).await.status,
            401
        );
    }

    // Livepeer: a stream, a missing one, a malformed id, another account's, refusals.
    let got = both
        .check(&format!("/api/stream/{}", ids[0]), key, HotRoute::LpStream)
        .await;
    assert_eq!(got.status, 200);
    assert!(
        got.body.contains(&ids[0]) && got.body.contains("cam-0"),
        "{}",
        got.body
    );
    assert!(got.headers.iter().any(|(k, _)| k == "x-ratelimit-limit"));
    let missing = format!("/api/stream/{}", uuid::Uuid::new_v4());
    let theirs = format!("/api/stream/{foreign}");
    for (path, auth, status) in [
        (missing.as_str(), key, 404),
        ("/api/stream/not-a-uuid", key, 404),
        (theirs.as_str(), key, 404),
        (theirs.as_str(), Some(basic.as_str()), 404),
        (missing.as_str(), none, 401),
        (missing.as_str(), bad, 401),
        (missing.as_str(), limited, 403),
    ] {
        let got = both.check(path, auth, HotRoute::LpStream).await;
        assert_eq!(got.status, status, "{path} {auth:?}: {}", got.body);
    }
    // Livepeer's list: a page with its Link, the next page by that cursor, bad queries.
    let page = both
        .check("/api/stream?limit=2", key, HotRoute::LpStreams)
        .await;
    assert_eq!(page.status, 200);
    let link = page
        .headers
        .iter()
        .find(|(k, _)| k == "link")
        .map(|(_, v)| v.clone())
        .expect("a Link to the next page");
    assert!(
        link.starts_with("<http://sg.example:8080/api/stream?limit=2&cursor="),
        "{link}"
    );
    let cursor = link
        .split("cursor=")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let next = both
        .check(
            &format!("/api/stream?limit=2&cursor={cursor}"),
            key,
            HotRoute::LpStreams,
        )
        .await;
    let next: Vec<Value> = serde_json::from_str(&next.body).unwrap();
    assert_eq!(next[0]["id"], ids[2]);
    for (path, auth, status) in [
        ("/api/stream", key, 200),
        ("/api/stream?limit=0", key, 400),
        ("/api/stream?limit=x&cursor=", key, 400),
        ("/api/stream?cursor=%%%", key, 400),
        ("/api/stream?limit=2", none, 401),
        ("/api/stream?limit=2", limited, 403),
    ] {
        let got = both.check(path, auth, HotRoute::LpStreams).await;
        assert_eq!(got.status, status, "{path} {auth:?}: {}", got.body);
    }

    // api.video: a live stream (its asset URLs name the request's Host), refusals, lists.
    let got = both
        .check(
            &format!("/live-streams/{av_id}"),
            Some(basic.as_str()),
            HotRoute::AvStream,
        )
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body.contains("http://sg.example:8080/"), "{}", got.body);
    let ours = format!("/live-streams/{av_id}");
    for (path, auth, status) in [
        ("/live-streams/li0000", key, 404),
        ("/live-streams/nonsense", key, 404),
        ("/live-streams/nonsense", none, 401),
        ("/live-streams/nonsense", bad, 401),
        (ours.as_str(), limited, 403),
    ] {
        let got = both.check(path, auth, HotRoute::AvStream).await;
        assert_eq!(got.status, status, "{path} {auth:?}: {}", got.body);
        if status != 200 {
            assert!(got
                .headers
                .contains(&("content-type".into(), "application/problem+json".into())));
        }
    }
    for (path, auth, status) in [
        ("/live-streams", key, 200),
        ("/live-streams?pageSize=2&currentPage=2", key, 200),
        ("/live-streams?name=cam-3", key, 200),
        ("/live-streams?pageSize=abc", key, 400),
        ("/live-streams?currentPage=0", key, 400),
        ("/live-streams", none, 401),
        ("/live-streams", limited, 403),
    ] {
        let got = both.check(path, auth, HotRoute::AvStreams).await;
        assert_eq!(got.status, status, "{path} {auth:?}: {}", got.body);
    }
    let named = both
        .check("/live-streams?name=cam-3", key, HotRoute::AvStreams)
        .await;
    let named: Value = serde_json::from_str(&named.body).unwrap();
    assert_eq!(named["pagination"]["itemsTotal"], 1, "{named}");
}

/// nginx's `auth_request`, asked for every HLS file a viewer fetches, is answered in the accept
/// loop exactly as its routed handler answers it.
#[tokio::test]
async fn the_playback_auth_request_answers_exactly_as_the_router() {
    let s = setup(Backend::Sqlite).await;
    let both = Both {
        hot: Hot::new(s.server.state.clone()),
        peer: "127.0.0.1:40001".parse().unwrap(),
        s,
    };
    let s = &both.s;
    let made = |body: Value| async move {
        let res = s
            .http
            .post(s.url("/api/stream"))
            .bearer_auth(s.secret())
            .json(&body)
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        v["playbackId"].as_str().unwrap().to_string()
    };
    let public = made(json!({"name": "p"})).await;
    let gated = made(json!({"name": "j", "playbackPolicy": {"type": "jwt"}})).await;
    let key: Value = s
        .http
        .post(s.url("/api/access-control/signing-key"))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let now = s.server.clock.now_ms_for_tests() / 1000;
    let jwt = streamgate::crypto::playback_jwt::sign(
        key["privateKey"].as_str().unwrap(),
        &json!({"sub": gated, "action": "pull", "pub": key["publicKey"], "exp": now + 600}),
    )
    .unwrap();
    let token = s.server.ingest_token().await;
    let path = format!("/ingest/nginx/auth-request?token={token}");
    for (uri, status) in [
        (format!("/hls/{public}/index.m3u8"), 200),
        (format!("/hls/{gated}/index.m3u8"), 401),
        (format!("/hls/{gated}/4.ts?jwt={jwt}"), 200),
        (format!("/hls/{gated}/4.ts?jwt=a.b.c"), 403),
        ("/hls/nosuch/index.m3u8".to_string(), 401),
    ] {
        let got = both
            .check_with(
                &path,
                None,
                &[("x-original-uri", &uri)],
                HotRoute::AuthRequest,
            )
            .await;
        assert_eq!(got.status, status, "{uri}");
        assert!(got.body.is_empty());
    }
    for (path, status) in [
        ("/ingest/nginx/auth-request".to_string(), 401),
        ("/ingest/nginx/auth-request?token=sgi_nope".to_string(), 401),
        (path.clone(), 403),
    ] {
        // Without the ingest token, or without the original URI.
        let got = both.check(&path, None, HotRoute::AuthRequest).await;
        assert_eq!(got.status, status, "{path}");
    }
}

/// Which requests take the hot routes: GETs of these paths without an Origin; a browser's
/// request, HEAD, other methods, and ids the router would decode or not match go to the router.
#[test]
fn only_plain_gets_of_the_polled_paths_are_hot() {
    let id = uuid::Uuid::new_v4();
    for (path, want) in [
        ("/sg/v1/me", HotRoute::Me),
        ("/sg/v1/me?x=1", HotRoute::Me),
        ("/api/stream", HotRoute::LpStreams),
        ("/api/stream?limit=3", HotRoute::LpStreams),
        (&format!("/api/stream/{id}") as &str, HotRoute::LpStream),
        ("/live-streams", HotRoute::AvStreams),
        ("/live-streams/li123", HotRoute::AvStream),
        ("/ingest/nginx/auth-request?token=t", HotRoute::AuthRequest),
    ] {
        assert_eq!(
            hot_route(&request(&Method::GET, path, None, false)),
            Some(want),
            "{path}"
        );
        assert_eq!(
            hot_route(&request(&Method::GET, path, None, true)),
            None,
            "{path} from a browser"
        );
        for m in [Method::HEAD, Method::POST, Method::PATCH, Method::DELETE] {
            assert_eq!(
                hot_route(&request(&m, path, None, false)),
                None,
                "{m} {path}"
            );
        }
    }
    for path in [
        "/api/stream/",
        "/api/stream/%61bc",
        "/api/stream/a/sessions",
        "/api/streams",
        "/live-streams/",
        "/live-streams/li1/thumbnail",
        "/sg/v1/me/",
    ] {
        assert_eq!(
            hot_route(&request(&Method::GET, path, None, false)),
            None,
            "{path}"
        );
    }
}

/// Over the wire, the hot routes are counted under the router's route templates.
#[tokio::test]
async fn hot_routes_are_counted_under_their_templates() {
    let s = setup(Backend::Sqlite).await;
    let id = &new_stream(&s, s.secret(), "counted").await;
    for path in [
        format!("/api/stream/{id}"),
        format!("/api/stream/{}", uuid::Uuid::new_v4()),
        "/api/stream?limit=1".to_string(),
        "/live-streams?pageSize=1".to_string(),
        "/live-streams/li0000".to_string(),
    ] {
        let res = s
            .http
            .get(s.url(&path))
            .bearer_auth(s.secret())
            .send()
            .await
            .unwrap();
        assert!(res.status() == 200 || res.status() == 404, "{path}");
    }
    let text = s.get_text("/metrics").await;
    for line in [
        "streamgate_http_requests_total{route=\"/api/stream/{id}\",method=\"GET\",status=\"200\"} 1\n",
        "streamgate_http_requests_total{route=\"/api/stream/{id}\",method=\"GET\",status=\"404\"} 1\n",
        "streamgate_http_requests_total{route=\"/api/stream\",method=\"GET\",status=\"200\"} 1\n",
        "streamgate_http_requests_total{route=\"/live-streams\",method=\"GET\",status=\"200\"} 1\n",
        "streamgate_http_requests_total{route=\"/live-streams/{id}\",method=\"GET\",status=\"404\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}
