//! Object storage on S3: a real S3-protocol server (moto's standalone server, from PyPI, pinned
//! in tests/clients/requirements.txt) started on an ephemeral port, and streamgate configured
//! with a bucket on it. An upload in chunks lands in the bucket, is served back byte for byte,
//! and is gone from the bucket once the video is deleted.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::common::external::Moto;
use crate::common::setup_with;
use streamgate::service::objects::ObjectsSetting;
use streamgate::testkit::Backend;

#[tokio::test]
async fn uploads_are_stored_in_an_s3_bucket() {
    let moto = Moto::start().await;
    let http = reqwest::Client::new();
    let bucket = "streamgate-test";
    let res = http
        .put(format!("{}/{bucket}", moto.url))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "create bucket: {}", res.status());
    // The standard variables every S3 tool reads (moto takes any credentials).
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");

    let mut config = streamgate::config::Config::default();
    config.service.objects = ObjectsSetting::S3 {
        bucket: bucket.into(),
        endpoint: Some(moto.url.clone()),
        region: "us-east-1".into(),
    };
    let s = setup_with(Backend::Sqlite, config).await;
    let (st, t) = {
        let r = s
            .http
            .post(s.url("/upload-tokens"))
            .bearer_auth(s.secret())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(st, 200);
    let url = s.url(&format!("/upload?token={}", t["token"].as_str().unwrap()));

    // 12 MiB in two chunks: the first is larger than one multipart part (8 MiB).
    let file: Vec<u8> = (0..12 << 20).map(|i: usize| (i % 251) as u8).collect();
    let mut id = String::new();
    for (i, c) in file.chunks(9 << 20).enumerate() {
        let form = Form::new().part("file", Part::bytes(c.to_vec()).file_name("s3.mp4"));
        let res = s
            .http
            .post(&url)
            .header("content-range", format!("part {}/2", i + 1))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{v}");
        id = v["videoId"].as_str().unwrap().to_string();
    }
    let v: Value = s
        .http
        .get(s.url(&format!("/videos/{id}")))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got = s
        .http
        .get(v["assets"]["mp4"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.bytes().await.unwrap() == file, "served bytes differ");

    // The parts are objects in the bucket.
    let listing = http
        .get(format!("{}/{bucket}?list-type=2&prefix=videos/", moto.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(listing.matches("<Key>videos/").count(), 2, "{listing}");

    let res = s
        .http
        .delete(s.url(&format!("/videos/{id}")))
        .bearer_auth(s.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let listing = http
        .get(format!("{}/{bucket}?list-type=2&prefix=videos/", moto.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(listing.matches("<Key>").count(), 0, "{listing}");
}
