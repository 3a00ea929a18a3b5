//! nginx-rtmp `on_publish` / `on_publish_done`: a form with `app, flashver, swfurl, tcurl, pageurl,
//! addr, clientid, call, name, type` plus the publish URL's query args as extra fields (an
//! Edgecast-style `?KEY` arrives as a bare field with no `=`). 2xx allows, 4xx refuses. The
//! ingest token is on the hook URL (`on_publish http://…/ingest/nginx-rtmp/publish?token=…;`),
//! whose query nginx-rtmp keeps; the form's fields are the encoder's and never carry it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{caller, decide_read, metric_outcome, parse_query_borrowed};
use crate::AppState;
use service::ingest::{PublishDecision, PublishRequest};
use service::playback::{ReadDecision, ReadRequest};
use service::IngestCaller;

const STANDARD: &[&str] = &[
    "app", "flashver", "swfurl", "tcurl", "pageurl", "addr", "clientid", "call", "name", "type",
];

/// What the form says about the publish.
#[derive(Debug)]
struct Form {
    app: String,
    stream: String,
    params: Vec<(String, Option<String>)>,
    client_addr: Option<String>,
}

impl Form {
    fn into_request(self, caller: IngestCaller) -> PublishRequest {
        PublishRequest {
            caller,
            ingest: "nginx-rtmp",
            app: self.app,
            stream: self.stream,
            params: self.params,
            client_addr: self.client_addr,
        }
    }
}

fn form(body: &[u8]) -> Form {
    let text = String::from_utf8_lossy(body);
    let fields = parse_query_borrowed(&text);
    // The first of duplicates: nginx-rtmp puts its own fields before the URL's query args.
    let first = |name: &str| {
        fields
            .iter()
            .find_map(|(k, v)| v.as_deref().filter(|_| k == name))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let mut params = Vec::new();
    let mut seen_standard = [false; STANDARD.len()];
    for (k, v) in &fields {
        match STANDARD.iter().position(|s| *s == k.as_ref()) {
            Some(i) if !seen_standard[i] => seen_standard[i] = true,
            _ => params.push((k.to_string(), v.as_deref().map(str::to_owned))),
        }
    }
    Form {
        app: first("app"),
        stream: first("name"),
        params,
        client_addr: Some(first("addr")).filter(|a| !a.is_empty()),
    }
}

pub async fn publish(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match caller(&state, "nginx-rtmp", &uri, &headers).await {
        Ok(c) => c,
        Err(status) => return status.into_response(),
    };
    let req = form(&body).into_request(caller);
    match state.svc.authorize_publish(&req).await {
        Ok(d) => {
            state
                .metrics
                .ingest_decision("nginx-rtmp", metric_outcome(&d));
            match d {
                // Published by stream key: nginx-rtmp renames the stream to its playback id
                // (a 3xx with the new name), so what viewers fetch never names the key.
                PublishDecision::Allowed {
                    rename: Some(name), ..
                } => match HeaderValue::from_str(&name) {
                    Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
                    Err(_) => StatusCode::OK.into_response(),
                },
                PublishDecision::Allowed { .. } => StatusCode::OK.into_response(),
                PublishDecision::Refused(..) => StatusCode::FORBIDDEN.into_response(),
                PublishDecision::Throttled => StatusCode::TOO_MANY_REQUESTS.into_response(),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "ingest decision failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `on_play`: a viewer asks to play `app/name` (the playback id); its URL's query (`?jwt=…`,
/// `?token=…`) arrives as extra form fields. 2xx allows, 4xx refuses.
pub async fn play(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let caller = match caller(&state, "nginx-rtmp", &uri, &headers).await {
        Ok(c) => c,
        Err(status) => return status,
    };
    let f = form(&body);
    let req = ReadRequest {
        caller,
        server: "nginx-rtmp",
        name: f.stream,
        alternative: None,
        params: f.params,
        jwt_header: None,
        origin: None,
        client_addr: f.client_addr,
    };
    match decide_read(&state, &req).await {
        Ok(ReadDecision::Allowed { .. }) => StatusCode::OK,
        Ok(_) => StatusCode::FORBIDDEN,
        Err(status) => status,
    }
}

pub async fn publish_done(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let caller = match caller(&state, "nginx-rtmp", &uri, &headers).await {
        Ok(c) => c,
        Err(status) => return status,
    };
    let req = form(&body).into_request(caller);
    if let Err(e) = state.svc.end_publish(&req).await {
        tracing::error!(error = %e, "could not close the publish session");
    }
    StatusCode::OK
}

/// `on_record_done`: a recording of a live job is finished (`path` names the file in the
/// recordings directory); it is taken into object storage in the background. 200 when it will be
/// (or it is not a job's); 400 when it cannot be (outside the directory, not the job's); 503 when
/// too many wait (the sweep takes it later).
pub async fn record_done(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let caller = match caller(&state, "nginx-rtmp", &uri, &headers).await {
        Ok(c) => c,
        Err(status) => return status,
    };
    let f = form(&body);
    let path = f
        .params
        .iter()
        .find(|(k, v)| k == "path" && v.is_some())
        .and_then(|(_, v)| v.clone())
        .unwrap_or_default();
    let done = service::recordings::RecordDone {
        caller,
        app: f.app,
        stream: f.stream,
        path,
    };
    match state.svc.record_done(&done).await {
        Ok(_) => StatusCode::OK,
        Err(domain::Error::Busy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        Err(domain::Error::Invalid(why)) => {
            tracing::warn!(error = %why, "a recording was not taken");
            StatusCode::BAD_REQUEST
        }
        Err(e) => {
            tracing::error!(error = %e, "could not take a recording");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_body_as_nginx_sends_it() {
        let r = form(b"app=inst&flashver=FMLE%2F3.0&tcurl=rtmp://127.0.0.1:1935/inst&pageurl=&addr=127.0.0.1&clientid=1&call=publish&name=cam7&type=live&edgeKey42");
        assert_eq!((r.app.as_str(), r.stream.as_str()), ("inst", "cam7"));
        assert_eq!(r.client_addr.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.params, vec![("edgeKey42".to_string(), None)]);
        let dup = form(b"app=live&name=k1&call=publish&name=evil&user=u&pass=p");
        assert_eq!(dup.stream, "k1", "the first name wins");
        assert!(dup.params.contains(&("name".into(), Some("evil".into()))));
    }
}

/// Properties: no body panics the form reader; a form as nginx-rtmp sends it reads back.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300), text in any::<String>()) {
            let _ = form(&body);
            let _ = form(text.as_bytes());
        }

        #[test]
        fn a_form_reads_back(
            app in "[a-zA-Z0-9]{1,16}",
            name in "[a-zA-Z0-9-]{1,40}",
            addr in "[0-9.]{7,15}",
            extra in prop::collection::vec(("x[a-z]{1,8}", prop::option::of("[a-zA-Z0-9]{0,12}")), 0..4),
        ) {
            let mut body = format!("app={app}&flashver=FMLE%2F3.0&addr={addr}&call=publish&name={name}&type=live");
            for (k, v) in &extra {
                body.push('&');
                body.push_str(k);
                if let Some(v) = v {
                    body.push('=');
                    body.push_str(v);
                }
            }
            let f = form(body.as_bytes());
            prop_assert_eq!(f.app, app);
            prop_assert_eq!(f.stream, name);
            prop_assert_eq!(f.client_addr, Some(addr));
            let extra: Vec<(String, Option<String>)> = extra;
            prop_assert_eq!(f.params, extra);
        }
    }
}
