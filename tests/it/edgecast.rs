//! Edgecast DCP stream keys over HTTP: the seed's sample request byte for byte, every validation
//! rule with its exact error body, account scoping, sealing at rest, restart durability, audit.

use std::sync::Arc;

use crate::common::{new_key, setup, Setup};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use streamgate::testkit::{Backend, LogCapture, TestServer};

fn base(s: &Setup) -> String {
    format!("/v2/mcc/customers/{}/httpstreaming/dcp", s.account.number)
}

async fn call(s: &Setup, key: &str, method: Method, path: &str, body: Option<&str>) -> Response {
    let mut req = s
        .http
        .request(method, s.url(path))
        .header("authorization", format!("TOK:{key}"))
        .header("accept", "application/json");
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    req.send().await.unwrap()
}

async fn message(res: Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    v["Message"].as_str().expect("Message").to_string()
}

/// The seed's sample request, byte for byte: tab indentation, an escaped slash and CRLF line ends
/// (its Content-Length, 69, counts them).
const SEED_BODY: &str =
    "{\r\n\t\"DirPath\" : \"myinstance\\/livevideos\",\r\n\t\"Key\" : \"abcdef123456\"\r\n}";

#[tokio::test]
async fn the_seed_sample_and_the_whole_lifecycle() {
    let logs = LogCapture::install();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let k = s.secret().to_string();
        let b = base(&s);
        assert_eq!(SEED_BODY.len(), 69, "the seed's Content-Length");
        let res = call(
            &s,
            &k,
            Method::POST,
            &format!("{b}/streamkeys"),
            Some(SEED_BODY),
        )
        .await;
        assert_eq!(res.status(), 200);
        let made: Value = res.json().await.unwrap();
        assert_eq!(made["DirPath"], "myinstance/livevideos");
        assert_eq!(made["Key"], "abcdef123456");
        let id = made["Id"].as_i64().expect("integer Id");
        assert_eq!(made.as_object().unwrap().len(), 3);

        for path in [
            format!("{b}/streamkeys&id={id}"),
            format!("{b}/streamkeys?id={id}"),
            format!("{b}/streamkeys/{id}"),
        ] {
            let got: Value = call(&s, &k, Method::GET, &path, None)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(got, made, "{path}");
        }
        let list: Value = call(&s, &k, Method::GET, &format!("{b}/streamkeys"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list, json!([made]));

        let res = call(
            &s,
            &k,
            Method::PUT,
            &format!("{b}/streamkeys/{id}"),
            Some(r#"{"DirPath":"myinstance/cam*","Key":"newKey42"}"#),
        )
        .await;
        assert_eq!(res.status(), 200);
        let upd: Value = res.json().await.unwrap();
        assert_eq!(
            (
                upd["DirPath"].as_str(),
                upd["Id"].as_i64(),
                upd["Key"].as_str()
            ),
            (Some("myinstance/cam*"), Some(id), Some("newKey42"))
        );

        // Global key.
        let g: Value = call(&s, &k, Method::GET, &format!("{b}/globalkey"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(g, json!({"Key": ""}));
        assert_eq!(
            call(
                &s,
                &k,
                Method::PUT,
                &format!("{b}/globalkey"),
                Some(r#"{"Key":"globalSecret99"}"#)
            )
            .await
            .status(),
            200
        );
        let g: Value = call(&s, &k, Method::GET, &format!("{b}/globalkey"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(g, json!({"Key": "globalSecret99"}));

        // Durable and sealed: another server on the same database (same master key) reads them.
        let again = TestServer::start_on(Arc::clone(&s.server.db)).await;
        let got: Value = reqwest::Client::new()
            .get(again.url(&format!("{b}/streamkeys/{id}")))
            .header("authorization", format!("TOK:{k}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["Key"], "newKey42");
        again.stop().await;
        let rec = s
            .server
            .store()
            .stream_key(
                streamgate::store::Scope {
                    account_id: s.account.id,
                    environment: streamgate::domain::Environment::Production,
                },
                id,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(rec.key_sealed.starts_with("v1.") && !rec.key_sealed.contains("newKey42"));

        let audit = s.server.store().list_audit(s.account.id, 20).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        for a in [
            "edgecast.stream_key.create",
            "edgecast.stream_key.update",
            "edgecast.global_key.update",
        ] {
            assert!(actions.contains(&a), "{a} audited: {actions:?}");
        }
        assert!(
            !format!("{audit:?}").contains("newKey42"),
            "no secret in the audit log"
        );

        assert_eq!(
            call(
                &s,
                &k,
                Method::DELETE,
                &format!("{b}/streamkeys/{id}"),
                None
            )
            .await
            .status(),
            200
        );
        message(
            call(
                &s,
                &k,
                Method::GET,
                &format!("{b}/streamkeys&id={id}"),
                None,
            )
            .await,
            404,
        )
        .await;
        message(
            call(
                &s,
                &k,
                Method::DELETE,
                &format!("{b}/streamkeys/{id}"),
                None,
            )
            .await,
            404,
        )
        .await;
        for secret in ["newKey42", "globalSecret99", "abcdef123456"] {
            assert!(!logs.contents().contains(secret), "{secret} was logged");
        }
        if backend == Backend::Sqlite {
            let path = s.server.db.url.trim_start_matches("sqlite://").to_string();
            let mut raw = std::fs::read(&path).unwrap();
            raw.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            for secret in ["newKey42", "globalSecret99"] {
                assert!(
                    !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{secret} in clear"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_validation_rule_with_its_message() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let p = format!("{}/streamkeys", base(&s));
    let dir_msg =
        "DirPath must be instance/stream with letters and digits only, optionally ending in *";
    let key_msg = "Key must be 1 to 256 letters and digits";
    for (body, msg) in [
        (r#"{"DirPath":"nostream","Key":"a1"}"#, dir_msg),
        (r#"{"DirPath":"a/b/c","Key":"a1"}"#, dir_msg),
        (r#"{"DirPath":"in-st/s","Key":"a1"}"#, dir_msg),
        (r#"{"DirPath":"/s","Key":"a1"}"#, dir_msg),
        (r#"{"DirPath":"i/s","Key":""}"#, key_msg),
        (r#"{"DirPath":"i/s","Key":"has-dash"}"#, key_msg),
    ] {
        assert_eq!(
            message(call(&s, &k, Method::POST, &p, Some(body)).await, 400).await,
            msg,
            "{body}"
        );
    }
    let long = format!(r#"{{"DirPath":"i/s","Key":"{}"}}"#, "a".repeat(257));
    assert_eq!(
        message(call(&s, &k, Method::POST, &p, Some(&long)).await, 400).await,
        key_msg
    );
    let max = format!(r#"{{"DirPath":"i/s","Key":"{}"}}"#, "a".repeat(256));
    assert_eq!(
        call(&s, &k, Method::POST, &p, Some(&max)).await.status(),
        200
    );
    // Anything after * is ignored; a duplicate DirPath is a 400.
    let w: Value = call(
        &s,
        &k,
        Method::POST,
        &p,
        Some(r#"{"DirPath":"i/cam*junk/more","Key":"k1"}"#),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(w["DirPath"], "i/cam*");
    let dup = message(
        call(
            &s,
            &k,
            Method::POST,
            &p,
            Some(r#"{"DirPath":"i/cam*","Key":"k2"}"#),
        )
        .await,
        400,
    )
    .await;
    assert!(dup.contains("already exists"), "{dup}");
    // Malformed input in the same format.
    message(
        call(&s, &k, Method::POST, &p, Some("{\"DirPath\":")).await,
        400,
    )
    .await;
    message(
        call(&s, &k, Method::POST, &p, Some(r#"{"DirPath":"i/s"}"#)).await,
        400,
    )
    .await;
    message(
        call(
            &s,
            &k,
            Method::POST,
            &p,
            Some(r#"{"DirPath":"i/s","Key":"a","Extra":1}"#),
        )
        .await,
        400,
    )
    .await;
    message(
        call(&s, &k, Method::GET, &format!("{p}&id=notanumber"), None).await,
        400,
    )
    .await;
    message(s.http.get(s.url(&p)).send().await.unwrap(), 401).await;
}

#[tokio::test]
async fn accounts_cannot_reach_each_other() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let made: Value = call(
        &s,
        &k,
        Method::POST,
        &format!("{}/streamkeys", base(&s)),
        Some(SEED_BODY),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = made["Id"].as_i64().unwrap();
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let theirs = new_key(&s.server, other.id, "theirs", |_| {}).await;
    let theirs = theirs.secret.expose();
    // Their key on our account number: 403, whatever the route.
    for (m, path) in [
        (Method::GET, format!("{}/streamkeys", base(&s))),
        (Method::GET, format!("{}/streamkeys/{id}", base(&s))),
        (Method::DELETE, format!("{}/streamkeys/{id}", base(&s))),
        (Method::GET, format!("{}/globalkey", base(&s))),
    ] {
        let msg = message(call(&s, theirs, m, &path, None).await, 403).await;
        assert!(msg.contains(s.account.number.as_str()), "{msg}");
    }
    // Their key on their own number: our id does not exist there.
    let their_base = format!("/v2/mcc/customers/{}/httpstreaming/dcp", other.number);
    message(
        call(
            &s,
            theirs,
            Method::GET,
            &format!("{their_base}/streamkeys&id={id}"),
            None,
        )
        .await,
        404,
    )
    .await;
    message(
        call(
            &s,
            theirs,
            Method::DELETE,
            &format!("{their_base}/streamkeys/{id}"),
            None,
        )
        .await,
        404,
    )
    .await;
    let list: Value = call(
        &s,
        theirs,
        Method::GET,
        &format!("{their_base}/streamkeys"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(list, json!([]));
    // And ours is untouched.
    assert_eq!(
        call(
            &s,
            &k,
            Method::GET,
            &format!("{}/streamkeys/{id}", base(&s)),
            None
        )
        .await
        .status(),
        200
    );
}
