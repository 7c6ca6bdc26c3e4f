//! The integration tests in one binary (`cargo test -p lookout-tests`): one link step instead of
//! one per file, shared setup in `common`. A test's path is `<module>::<name>`, e.g.
//! `cargo test -p lookout-tests --test it dumps::` runs the dump tests.
//!
//! Tests share one process: each makes its own resources (`common::unique` names for tables,
//! topics, buckets; free loopback ports; temporary directories) and none sets environment
//! variables, so they run in parallel like the tests of one file.

mod common;

mod alert_pipeline;
mod api_channels;
mod api_push;
mod api_slos;
mod audit;
mod badges_feed;
mod cache;
mod client_failover;
mod console_browser;
mod console_dumps;
mod digest;
mod dumps;
mod dynamodb_store;
mod fanout;
mod guard_netns;
mod health;
mod heartbeat_run;
mod incidents;
mod local_env;
mod location_store;
mod locations;
mod narrative;
mod narrative_ledger;
mod notify_pipeline;
mod notify_store;
mod probe_dns;
mod probe_engine;
mod probe_nginx;
mod probe_pipeline;
mod probe_ports;
mod proxy_provenance;
mod restore_throttled;
mod results_export;
mod secrets_at_rest;
mod shard_store;
mod slo_alerts;
mod slo_digest;
mod slo_page;
mod slo_store;
mod snapshot_replay;
mod sns_publisher;
mod ssm_tokens;
mod status_page;
mod status_page_browser;
mod template;
