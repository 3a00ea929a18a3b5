//! Brightcove credentials over HTTP: all seven types with their rules and exact error bodies,
//! masking, labels, defaults per type, resolving by label, scoping, sealing, both backends.

use crate::common::{new_key, setup, Setup};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use streamgate::domain::credential::CredentialType;
use streamgate::domain::Environment;
use streamgate::service::credentials::CredentialRef;
use streamgate::testkit::{Backend, LogCapture};

async fn call(s: &Setup, key: &str, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = s.http.request(method, s.url(path)).header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn error(res: Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    v["error"].as_str().expect("error").to_string()
}

fn body(label: &str, kind: &str, public: &str, private: &str) -> Value {
    json!({"credential_label": label, "credential_type": kind, "credential_public": public, "credential_private": private})
}

#[tokio::test]
async fn credentials_of_every_type() {
    let logs = LogCapture::install();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = setup(backend).await;
        let k = s.secret().to_string();
        let mut ids = vec![];
        let mut secrets = vec![];
        for (kind, public, extra) in [
            ("ftp", "ftpuser", json!({})),
            ("http", "hookuser", json!({})),
            (
                "oauth",
                "client-id-1",
                json!({"credential_token_url": "https://auth.example.com/token"}),
            ),
            ("rtmp", "encoder1", json!({})),
            ("s3", "AKIAIOSFODNN7EXAMPLE", json!({})),
            ("videocloud", "vc-client-id", json!({})),
            ("zencoder", "zen-account", json!({})),
        ] {
            let secret = format!("{kind}-private-secret-0042");
            let mut b = body(&format!("{kind} one"), kind, public, &secret);
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let res = call(&s, &k, Method::POST, "/v1/credentials", Some(b)).await;
            assert_eq!(res.status(), 200, "{kind}");
            let v: Value = res.json().await.unwrap();
            assert_eq!(v["credential_label"], format!("{kind} one"));
            assert!(v["user_id"].is_null(), "for all users");
            assert_eq!(v.as_object().unwrap().len(), 3);
            ids.push(v["credential_id"].as_str().unwrap().to_string());
            secrets.push(secret);
        }
        let list: Value = call(&s, &k, Method::GET, "/v1/credentials", None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["user_id"], s.account.id.to_string());
        let creds = list["credentials"].as_array().unwrap();
        assert_eq!(creds.len(), 7);
        assert_eq!(
            creds[0]["credential_private"], "****0042",
            "masked to the last 4"
        );
        let shown = list.to_string();
        for secret in &secrets {
            assert!(!shown.contains(secret.as_str()), "{secret} listed");
        }

        // resolve_credential, by label and as the default of a type.
        let svc = s.server.svc();
        let rtmp = svc
            .resolve_credential(
                s.account.id,
                Environment::Production,
                CredentialRef::Label("rtmp one"),
            )
            .await
            .unwrap();
        assert_eq!(
            (rtmp.public.as_str(), rtmp.private.expose()),
            ("encoder1", "rtmp-private-secret-0042")
        );
        assert!(
            svc.resolve_credential(
                s.account.id,
                Environment::Production,
                CredentialRef::DefaultOf(CredentialType::Http)
            )
            .await
            .is_err(),
            "no default yet"
        );
        assert!(
            svc.resolve_credential(
                s.account.id,
                Environment::Sandbox,
                CredentialRef::Label("rtmp one")
            )
            .await
            .is_err(),
            "sandbox is another world"
        );

        // Defaults: at most one per type.
        let mut b1 = body("hook a", "http", "u1", "p1-secret-aaaa");
        b1["credential_default_for_type"] = json!(true);
        let a: Value = call(&s, &k, Method::POST, "/v1/credentials", Some(b1))
            .await
            .json()
            .await
            .unwrap();
        let mut b2 = body("hook b", "http", "u2", "p2-secret-bbbb");
        b2["credential_default_for_type"] = json!(true);
        let b: Value = call(&s, &k, Method::POST, "/v1/credentials", Some(b2))
            .await
            .json()
            .await
            .unwrap();
        let def = svc
            .resolve_credential(
                s.account.id,
                Environment::Production,
                CredentialRef::DefaultOf(CredentialType::Http),
            )
            .await
            .unwrap();
        assert_eq!(def.id.to_string(), b["credential_id"].as_str().unwrap());
        let list: Value = call(&s, &k, Method::GET, "/v1/credentials", None)
            .await
            .json()
            .await
            .unwrap();
        let defaults = list["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["credential_type"] == "http" && c["credential_default_for_type"] == true)
            .count();
        assert_eq!(defaults, 1);

        // PUT replaces the fields; without credential_private the stored secret stays.
        let a_id = a["credential_id"].as_str().unwrap();
        let res = call(&s, &k, Method::PUT, &format!("/v1/credentials/{a_id}"), Some(json!({
            "credential_label": "hook a2", "credential_type": "http", "credential_public": "u1b", "credential_default_for_type": true}))).await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["credential_label"], "hook a2");
        let def = svc
            .resolve_credential(
                s.account.id,
                Environment::Production,
                CredentialRef::DefaultOf(CredentialType::Http),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                def.label.as_str(),
                def.public.as_str(),
                def.private.expose()
            ),
            ("hook a2", "u1b", "p1-secret-aaaa")
        );

        // Delete.
        assert_eq!(
            call(
                &s,
                &k,
                Method::DELETE,
                &format!("/v1/credentials/{a_id}"),
                None
            )
            .await
            .status(),
            204
        );
        error(
            call(
                &s,
                &k,
                Method::DELETE,
                &format!("/v1/credentials/{a_id}"),
                None,
            )
            .await,
            404,
        )
        .await;
        error(
            call(
                &s,
                &k,
                Method::PUT,
                &format!("/v1/credentials/{a_id}"),
                Some(body("x", "ftp", "u", "p")),
            )
            .await,
            404,
        )
        .await;

        // Sealed at rest and never logged.
        let rec = s
            .server
            .store()
            .credential(
                streamgate::store::Scope {
                    account_id: s.account.id,
                    environment: Environment::Production,
                },
                ids[0].parse().unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(
            rec.private_sealed.starts_with("v1.") && !rec.private_sealed.contains("ftp-private")
        );
        let logged = logs.contents();
        for secret in &secrets {
            assert!(!logged.contains(secret.as_str()), "{secret} logged");
        }
        let audit = s.server.store().list_audit(s.account.id, 50).await.unwrap();
        assert!(
            audit
                .iter()
                .filter(|e| e.action == "brightcove.credential.create")
                .count()
                >= 9
        );
        assert!(audit
            .iter()
            .any(|e| e.action == "brightcove.credential.delete"));
        assert!(!format!("{audit:?}").contains("private-secret"));
    }
}

#[tokio::test]
async fn every_rule_with_its_error() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let post = |b: Value| call(&s, &k, Method::POST, "/v1/credentials", Some(b));
    assert_eq!(
        error(post(body("a", "sftp", "u", "p")).await, 400).await,
        "credential_type must be one of ftp, http, oauth, rtmp, s3, videocloud, zencoder (got \"sftp\")"
    );
    assert_eq!(
        error(post(body("a", "oauth", "client", "secret")).await, 400).await,
        "oauth credentials need credential_token_url: the http(s) URL that issues tokens, at most 2048 characters"
    );
    assert_eq!(
        error(post(body("a", "s3", "not-a-key", "secret")).await, 400).await,
        "s3 credentials: credential_public must be the access key id (16-128 upper-case letters and digits)"
    );
    assert_eq!(
        error(post(body("a", "rtmp", "enc&1", "p")).await, 400).await,
        "rtmp credentials: user name and password must not contain & = ? / or spaces"
    );
    assert_eq!(
        error(post(body("a", "ftp", "", "p")).await, 400).await,
        "credential_public is required for ftp credentials: the user name (at most 1024 characters)"
    );
    assert_eq!(
        error(post(body("", "ftp", "u", "p")).await, 400).await,
        "credential_label is required: 1 to 200 printable characters"
    );
    assert_eq!(
        error(
            post(
                json!({"credential_label": "a", "credential_type": "ftp", "credential_public": "u"})
            )
            .await,
            400
        )
        .await,
        "credential_private is required"
    );
    let mut with_url = body("a", "ftp", "u", "p");
    with_url["credential_token_url"] = json!("https://a.example/t");
    assert_eq!(
        error(post(with_url).await, 400).await,
        "credential_token_url only applies to oauth credentials, not ftp"
    );
    assert_eq!(post(body("dup", "ftp", "u", "p")).await.status(), 200);
    assert_eq!(
        error(post(body("dup", "http", "u", "p")).await, 409).await,
        "a credential labelled \"dup\" already exists"
    );
    error(post(json!({"credential_label": "x"})).await, 400).await;
    error(post(json!({"credential_label": "x", "credential_type": "ftp", "credential_public": "u", "credential_private": "p", "bogus": 1})).await, 400).await;
    error(
        call(&s, "", Method::GET, "/v1/credentials", None).await,
        401,
    )
    .await;
}

#[tokio::test]
async fn another_accounts_credentials_are_404() {
    let s = setup(Backend::Sqlite).await;
    let k = s.secret().to_string();
    let v: Value = call(
        &s,
        &k,
        Method::POST,
        "/v1/credentials",
        Some(body("mine", "ftp", "u", "p")),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = v["credential_id"].as_str().unwrap();
    let other = s
        .server
        .svc()
        .create_account(&streamgate::testkit::operator(), "other", None)
        .await
        .unwrap();
    let theirs = new_key(&s.server, other.id, "t", |_| {}).await;
    let t = theirs.secret.expose();
    for (m, b) in [
        (Method::GET, None),
        (Method::PUT, Some(body("x", "ftp", "u", "p"))),
        (Method::DELETE, None),
    ] {
        error(
            call(&s, t, m, &format!("/v1/credentials/{id}"), b).await,
            404,
        )
        .await;
    }
    let list: Value = call(&s, t, Method::GET, "/v1/credentials", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["credentials"], json!([]));
    // Labels are per account: the other account may use the same one.
    assert_eq!(
        call(
            &s,
            t,
            Method::POST,
            "/v1/credentials",
            Some(body("mine", "ftp", "u", "p"))
        )
        .await
        .status(),
        200
    );
}
