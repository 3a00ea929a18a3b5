//! Every integration test of streamgate, as one test binary: one link instead of one per file,
//! and one process whose tests share nothing but the machine (each boots its own server).

mod common;

mod api;
mod apivideo;
mod apivideo_clients;
mod audit;
mod brightcove;
mod cli;
mod cluster;
mod cluster_limits;
mod dashboard;
mod dashboard_browser;
mod dashboard_lockout;
mod edgecast;
mod fuzz_api;
mod hardening;
mod hot_routes;
mod http_edge;
mod ingest;
mod ingest_e2e;
mod ingest_tokens;
mod jobs_e2e;
mod keys;
mod layers;
mod length_caps;
mod live_jobs;
mod livepeer;
mod livepeer_browser;
mod livepeer_clients;
mod livepeer_webhooks;
mod lost_updates;
mod objects_s3;
mod outage;
mod playback;
mod playback_e2e;
mod policy;
mod policy_matrix;
mod publish_paths;
mod read_path;
mod retention;
mod secrets;
mod store_suite;
mod vault;
mod videos;
mod webhook_delivery;
