//! The OpenAPI document (`/openapi.json`) describes every declared route — the same table the
//! router is built from and the policy matrix reads — and schemathesis (pinned in
//! tests/fuzz/requirements.txt, installed by scripts/test-deps.sh) fuzzes every one of them with a
//! full-permission production key and an ingest token: no request may get a 5xx, a response whose
//! body is not what its content type and schema declare, or panic the server.

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use streamgate::http::routes::{Body, Need};
use streamgate::testkit::Backend;
use tokio::process::Command;

use crate::common::external::{repo, run_ok};

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

async fn served_document(s: &common::Setup) -> Value {
    let res = s.http.get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_describes_every_declared_route_and_nothing_else() {
    let s = common::setup(Backend::Sqlite).await;
    let doc = served_document(&s).await;
    let table = streamgate::http::route_table(&s.server.state);

    let declared: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.method.as_str().to_ascii_lowercase(), r.path.clone()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                documented.insert((m.to_string(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = declared.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "declared but not in /openapi.json: {missing:?}\nin /openapi.json but not declared: {extra:?}"
    );
    assert!(
        declared.len() >= 90,
        "the table lost routes: {}",
        declared.len()
    );

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let mut problems = Vec::new();
    for spec in &table {
        let m = spec.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][&spec.path][&m];
        let here = format!("{} {}", spec.method, spec.path);
        // Every path parameter, and every security scheme named exists.
        for name in spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        {
            let found = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
            });
            if !found {
                problems.push(format!("{here}: path parameter {name} undocumented"));
            }
        }
        let security: Vec<String> = op["security"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|req| req.as_object()?.keys().next().cloned())
                    .collect()
            })
            .unwrap_or_default();
        for name in &security {
            if !schemes.contains_key(name) {
                problems.push(format!("{here}: security scheme {name} is not defined"));
            }
        }
        let want: &[&str] = match spec.need {
            Need::Permission(_) | Need::Key => &["bearer", "basic", "x-api-key", "tok"],
            Need::Ingest => &["ingestToken", "ingestBearer"],
            Need::Dashboard => &["dashboardSession"],
            Need::UploadCredential => &["uploadToken"],
            Need::Anyone | Need::BodyCredential => &[],
        };
        let got: BTreeSet<&str> = security.iter().map(String::as_str).collect();
        if got != want.iter().copied().collect() {
            problems.push(format!("{here}: security {got:?}, want {want:?}"));
        }
        // The body the handler parses.
        let content = &op["requestBody"]["content"];
        let body_ok = match spec.body {
            Body::None => op.get("requestBody").is_none(),
            Body::AnyJson => content["application/json"]["schema"]["type"] == "object",
            Body::Json(_) => content["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .is_some_and(|name| doc["components"]["schemas"].get(name).is_some()),
            Body::Form => content.get("application/x-www-form-urlencoded").is_some(),
            Body::Multipart => content.get("multipart/form-data").is_some(),
            Body::Binary => content.get("application/octet-stream").is_some(),
        };
        if !body_ok {
            problems.push(format!(
                "{here}: request body {:?} not described",
                spec.body
            ));
        }
        // The refusals, in the dialect's error format.
        if matches!(spec.need, Need::Permission(_) | Need::Key) {
            for status in ["401", "403", "429"] {
                let r = &op["responses"][status]["content"];
                let ok = r
                    .as_object()
                    .is_some_and(|c| c.keys().any(|ct| ct == spec.dialect.error_content_type));
                if !ok {
                    problems.push(format!(
                        "{here}: {status} not described as {}",
                        spec.dialect.error_content_type
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Precise where the handler's type describes it: Livepeer's new target needs its url.
    let target = &doc["components"]["schemas"]["LivepeerNewTarget"];
    assert_eq!(target["required"], serde_json::json!(["url"]), "{target}");
}

/// Panics on the server's threads (tokio workers), recorded by a process-wide hook that also
/// runs the default one.
fn server_panics() -> Arc<Mutex<Vec<String>>> {
    static PANICS: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    PANICS
        .get_or_init(|| {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let record = seen.clone();
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let thread = std::thread::current();
                if thread
                    .name()
                    .is_some_and(|n| n.starts_with("tokio-runtime"))
                {
                    if let Ok(mut v) = record.lock() {
                        v.push(info.to_string());
                    }
                }
                previous(info);
            }));
            seen
        })
        .clone()
}

fn schemathesis() -> PathBuf {
    let p = std::env::var_os("STREAMGATE_TEST_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/test-tools/fuzz-venv/bin/schemathesis"));
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test-deps.sh (it installs tests/fuzz/requirements.txt)",
        p.display()
    );
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_no_malformed_response() {
    let panics = server_panics();
    // A run sends thousands of requests on one key and one address, on a clock that does not
    // move: the limits would answer most of them 429 and leave the handlers untested.
    let mut config = common::lab();
    config.service.rate_limit.limit = 10_000_000;
    config.service.ingest_max_failures = 10_000_000;
    let s = common::setup_with(Backend::Sqlite, config).await;
    let key = s.secret().to_string();
    let ingest = s.server.ingest_token().await;
    // Objects for the reads to find (a generated id finds nothing: 404), and the account's
    // number for Edgecast's paths (another number is refused with 403 before anything else).
    let mut ids = Vec::new();
    for (path, id) in [("/api/stream", "id"), ("/live-streams", "liveStreamId")] {
        let res = s
            .http
            .post(s.url(path))
            .bearer_auth(&key)
            .json(&serde_json::json!({"name": "fuzz"}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let body: Value = res.json().await.unwrap();
        ids.push(body[id].as_str().unwrap().to_string());
    }

    let dir = tempfile_dir();
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(
        &config_file,
        r#"
[auth.openapi.bearer]
bearer = "${SG_KEY}"
[auth.openapi.basic]
username = "${SG_KEY}"
password = ""
[auth.openapi.x-api-key]
api_key = "${SG_KEY}"
[auth.openapi.tok]
api_key = "TOK:${SG_KEY}"
[auth.openapi.ingestToken]
api_key = "${SG_INGEST}"
[auth.openapi.ingestBearer]
bearer = "${SG_INGEST}"

[parameters]
"path.account" = "${SG_ACCOUNT}"

[[operations]]
include-path-regex = "^/api/stream/[{]id[}]"
parameters = { "path.id" = "${SG_STREAM}" }

[[operations]]
include-path-regex = "^/live-streams/[{]id[}]"
parameters = { "path.id" = "${SG_LIVE_STREAM}" }
"#,
    )
    .unwrap();
    let seconds: u64 = std::env::var("STREAMGATE_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(75);
    let report = repo().join("target/test-output/schemathesis");
    let _ = std::fs::remove_dir_all(&report);
    let mut cmd = Command::new(schemathesis());
    cmd.arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(s.url("/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,content_type_conformance,response_schema_conformance",
            "--max-time",
            &seconds.to_string(),
            "--max-examples",
            "40",
            "--workers",
            "2",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            "--suppress-health-check",
            "all",
            "--exclude-tag",
            "dashboard",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
        ])
        .arg(&report)
        .env("SG_KEY", &key)
        .env("SG_INGEST", &ingest)
        .env("SG_ACCOUNT", s.account.number.as_str())
        .env("SG_STREAM", &ids[0])
        .env("SG_LIVE_STREAM", &ids[1])
        .current_dir(&dir);
    let out = run_ok(
        cmd,
        "schemathesis against /openapi.json",
        Duration::from_secs(seconds + 120),
    )
    .await;
    let tail: String = out
        .lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    println!("{tail}");
    let panics = panics.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(
        panics.is_empty(),
        "the server panicked:\n{}",
        panics.join("\n")
    );
    // The run tested every selected operation, with thousands of cases: the summary says
    // `Test cases:` and on the next line `N generated, N passed`.
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let line = |label: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(label))
            .map(|i| format!("{} {}", lines[i], lines.get(i + 1).copied().unwrap_or("")))
            .unwrap_or_default()
    };
    let cases: u64 = line("Test cases:")
        .trim_start_matches("Test cases:")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(cases >= 500, "schemathesis generated too few cases:\n{out}");
    let summary = format!(
        "schemathesis: {}; {}",
        line("Selected:"),
        line("Test cases:")
    );
    println!("{summary}");
    let _ = std::fs::write(report.join("summary.txt"), format!("{summary}\n"));
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sg-fuzz-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
