//! `GET /metrics`: Prometheus text exposition format 0.0.4 (the format every Prometheus server
//! scrapes; see prometheus.io/docs/instrumenting/exposition_formats), written by
//! prometheus-client.
//!
//! Every scrape reads a snapshot from the store, so the metrics are a prometheus-client
//! [`Collector`] over that snapshot rather than live instruments: it writes the families in a
//! fixed order and the samples in the order of the targets.
//!
//! Counters keep their 0.0.4 names: the `# HELP`/`# TYPE` lines name the family by its sample
//! name, `_total` included (`lookout_target_checks_total`). prometheus-client's own counter
//! encoding follows OpenMetrics instead (family `lookout_target_checks`, samples with `_total`
//! appended, a closing `# EOF`), which a 0.0.4 parser such as prometheus-parse reads as untyped
//! samples. So a counter's family is described as `counter` under its full name and its values
//! are written with the plain sample encoder, and the exposition ends without `# EOF`.
//!
//! The service level objectives' families (`lookout_slo_*`) are in [`slo`].

mod slo;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout_app::ports::{
    Latest, LocationStore, RunRecord, RunStore, SloStore, StateStore, TargetStore,
};
use lookout_core::domain::{Status, Target, TargetKind};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::error::ApiError;

/// The labels of a target's samples.
#[derive(Debug, EncodeLabelSet)]
struct TargetLabels {
    id: String,
    kind: &'static str,
    group: String,
}

/// The labels of `lookout_target_status`: the target's and one status.
#[derive(Debug, EncodeLabelSet)]
struct StatusLabels {
    id: String,
    kind: &'static str,
    group: String,
    status: &'static str,
}

/// The labels of `lookout_location_latency_ms`: the target, its kind and the location.
#[derive(Debug, EncodeLabelSet)]
struct LocationLatencyLabels {
    target: String,
    kind: &'static str,
    location: String,
}

/// The labels of `lookout_location_up`.
#[derive(Debug, EncodeLabelSet)]
struct LocationLabels {
    location: String,
}

/// The labels of the `lookout_cache_*` samples: the cache's name.
#[derive(Debug, EncodeLabelSet)]
struct CacheLabels {
    cache: String,
}

/// The caches' statistics one answer encodes (never cached themselves).
#[derive(Debug)]
struct CacheSnapshot(Vec<(CacheLabels, crate::cache::CacheStats)>);

impl Collector for CacheSnapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge};
        let e = &mut encoder;
        let all = &self.0;
        family(
            e,
            "lookout_cache_hits_total",
            Counter,
            "Requests this API instance answered from the cache, since it started.",
            all.iter().map(|(l, s)| (l, s.hits)),
        )?;
        family(
            e,
            "lookout_cache_misses_total",
            Counter,
            "Requests this API instance built the answer of, since it started.",
            all.iter().map(|(l, s)| (l, s.misses)),
        )?;
        family(
            e,
            "lookout_cache_entries",
            Gauge,
            "Entries the cache keeps now.",
            all.iter().map(|(l, s)| (l, s.entries)),
        )?;
        family(
            e,
            "lookout_cache_bytes",
            Gauge,
            "Bytes the cache keeps now.",
            all.iter().map(|(l, s)| (l, s.bytes)),
        )
    }
}

/// The `lookout_cache_*` families of `stats` (by cache name), in the text format of
/// [`metrics`], to append to its answer: counters of this instance, read at each scrape.
///
/// # Errors
/// A formatting error of the encoder.
pub fn cache_exposition(
    stats: &std::collections::BTreeMap<String, crate::cache::CacheStats>,
) -> Result<String, std::fmt::Error> {
    let snapshot = CacheSnapshot(
        stats
            .iter()
            .map(|(name, s)| {
                (
                    CacheLabels {
                        cache: name.clone(),
                    },
                    s.clone(),
                )
            })
            .collect(),
    );
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    prometheus_client::encoding::text::encode_registry(&mut text, &registry)?;
    Ok(text)
}

/// The labels of a probe run's samples.
#[derive(Debug, EncodeLabelSet)]
struct RunLabels {
    kind: &'static str,
}

/// What the metrics say about one target, read from its definition, state and latest result.
#[derive(Debug)]
struct TargetRow {
    labels: TargetLabels,
    /// Healthy or degraded.
    up: bool,
    /// The current status (`unknown` before the first check).
    status: Status,
    /// Checks and failures since the last statistics reset; `None` before the first check.
    counts: Option<(u64, u64)>,
    /// Total time of the latest check, ms.
    latency_ms: Option<u64>,
    /// Whole days until the server certificate expires.
    cert_days_left: Option<i64>,
    /// Proxy traffic in bytes and its estimated cost (proxy targets with a state only).
    proxy: Option<(u64, f64)>,
}

impl TargetRow {
    fn new(t: &Target, latest: Option<&Latest>) -> Self {
        let state = latest.map(|l| &l.state);
        let result = latest.and_then(|l| l.result.as_ref());
        Self {
            labels: TargetLabels {
                id: t.id.clone(),
                kind: t.kind().as_str(),
                group: t.group.clone(),
            },
            up: state.is_some_and(|s| s.status.eligible()),
            status: state.map_or(Status::Unknown, |s| s.status),
            counts: state.map(|s| (s.checks, s.failures)),
            latency_ms: result.map(|r| r.latency_ms),
            cert_days_left: result.and_then(|r| r.cert_days_left),
            proxy: t
                .proxy()
                .and(state.map(|s| (s.traffic_bytes, finite(s.cost)))),
        }
    }
}

/// NaN for an infinite value (the format spells infinities `+Inf`, which the sample encoder
/// does not), the value otherwise.
fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        f64::NAN
    }
}

/// The snapshot one scrape encodes.
#[derive(Debug)]
struct Snapshot {
    targets: Vec<TargetRow>,
    /// The last run of each kind that has run.
    runs: Vec<RunRecord>,
    /// Each location's latest latency of each target it probes, ms (targets probed from
    /// several locations only), in the order of the targets, then by location.
    location_latency: Vec<(LocationLatencyLabels, u64)>,
    /// Each location that ever reported, and whether it reported within the grace period.
    location_up: Vec<(LocationLabels, bool)>,
    /// Each SLO's figures, by id.
    slos: Vec<slo::SloRow>,
}

/// Writes one family: its `# HELP` and `# TYPE` lines, then one sample per item. Counters too
/// are written with the plain sample encoder, under their full name (see the module
/// documentation).
fn family<'a, L, V, I>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    metric_type: MetricType,
    help: &str,
    samples: I,
) -> Result<(), std::fmt::Error>
where
    L: EncodeLabelSet + 'a,
    V: EncodeGaugeValue,
    I: IntoIterator<Item = (&'a L, V)>,
{
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in samples {
        ConstGauge::new(value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        encode_target_health(e, &self.targets)?;
        encode_target_counts(e, &self.targets)?;
        encode_runs(e, &self.runs)?;
        encode_locations(e, &self.location_latency, &self.location_up)?;
        slo::encode(e, &self.slos)
    }
}

/// The targets' up, status and latency families.
fn encode_target_health(
    e: &mut DescriptorEncoder,
    rows: &[TargetRow],
) -> Result<(), std::fmt::Error> {
    use MetricType::Gauge;
    family(
        e,
        "lookout_target_up",
        Gauge,
        "1 when the target is healthy or degraded, 0 otherwise.",
        rows.iter().map(|r| (&r.labels, i64::from(r.up))),
    )?;
    let statuses: Vec<(StatusLabels, i64)> = rows
        .iter()
        .flat_map(|r| {
            Status::ALL.into_iter().map(move |s| {
                let labels = StatusLabels {
                    id: r.labels.id.clone(),
                    kind: r.labels.kind,
                    group: r.labels.group.clone(),
                    status: s.as_str(),
                };
                (labels, i64::from(s == r.status))
            })
        })
        .collect();
    family(
        e,
        "lookout_target_status",
        Gauge,
        "1 for the target's current status, 0 for the others.",
        statuses.iter().map(|(l, v)| (l, *v)),
    )?;
    family(
        e,
        "lookout_target_latency_seconds",
        Gauge,
        "Total time of the latest check, seconds.",
        rows.iter()
            .filter_map(|r| r.latency_ms.map(|ms| (&r.labels, ms as f64 / 1000.0))),
    )
}

/// The targets' check and failure counters, certificate days and proxy traffic and cost.
fn encode_target_counts(
    e: &mut DescriptorEncoder,
    rows: &[TargetRow],
) -> Result<(), std::fmt::Error> {
    use MetricType::{Counter, Gauge};
    family(
        e,
        "lookout_target_checks_total",
        Counter,
        "Checks counted since the last statistics reset.",
        rows.iter()
            .filter_map(|r| r.counts.map(|(checks, _)| (&r.labels, checks))),
    )?;
    family(
        e,
        "lookout_target_failures_total",
        Counter,
        "Failed or blocked checks counted since the last statistics reset.",
        rows.iter()
            .filter_map(|r| r.counts.map(|(_, failures)| (&r.labels, failures))),
    )?;
    family(
        e,
        "lookout_target_cert_days_left",
        Gauge,
        "Whole days until the server certificate expires (HTTPS targets).",
        rows.iter()
            .filter_map(|r| r.cert_days_left.map(|d| (&r.labels, d))),
    )?;
    family(
        e,
        "lookout_proxy_traffic_bytes_total",
        Counter,
        "Bytes through the proxy, probes and reported usage.",
        rows.iter()
            .filter_map(|r| r.proxy.map(|(bytes, _)| (&r.labels, bytes))),
    )?;
    family(
        e,
        "lookout_proxy_cost",
        Gauge,
        "Estimated cost of that traffic, in the currency of cost_per_gb.",
        rows.iter()
            .filter_map(|r| r.proxy.map(|(_, cost)| (&r.labels, cost))),
    )
}

/// The last run of each kind: its duration and the targets it checked.
fn encode_runs(e: &mut DescriptorEncoder, runs: &[RunRecord]) -> Result<(), std::fmt::Error> {
    use MetricType::Gauge;
    let runs: Vec<(RunLabels, &RunRecord)> = runs
        .iter()
        .map(|r| {
            (
                RunLabels {
                    kind: r.kind.as_str(),
                },
                r,
            )
        })
        .collect();
    family(
        e,
        "lookout_run_duration_seconds",
        Gauge,
        "Wall time of the last probe run of the kind, seconds.",
        runs.iter().map(|(l, r)| (l, r.duration_ms as f64 / 1000.0)),
    )?;
    family(
        e,
        "lookout_run_checked",
        Gauge,
        "Targets checked by the last probe run of the kind.",
        runs.iter().map(|(l, r)| (l, r.checked as u64)),
    )
}

/// The locations' families: each location's latest latency of each target (ms, as the
/// verdicts record it) and whether each location reports.
fn encode_locations(
    e: &mut DescriptorEncoder,
    latency: &[(LocationLatencyLabels, u64)],
    up: &[(LocationLabels, bool)],
) -> Result<(), std::fmt::Error> {
    use MetricType::Gauge;
    family(
        e,
        "lookout_location_latency_ms",
        Gauge,
        "Total time of the latest check of the target from the location, ms.",
        latency.iter().map(|(l, ms)| (l, *ms)),
    )?;
    family(
        e,
        "lookout_location_up",
        Gauge,
        "1 when the probe location reported within its grace period, 0 when it is overdue.",
        up.iter().map(|(l, ok)| (l, i64::from(*ok))),
    )
}

/// The metrics of every target (up, status, last latency in seconds, checks and failures,
/// certificate days left, proxy traffic and cost), of the last run of each kind, of the
/// probe locations (each one's latency of each target, ms; whether each reports within
/// `grace_ms`), and of every SLO ([`slo`]: its status from its record, at the scrape).
///
/// The definitions come from `defs` at the definitions' `version` ([`crate::routes::load_at`]).
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn metrics<S: TargetStore + StateStore + RunStore + LocationStore + SloStore>(
    store: &S,
    defs: &crate::routes::DefsCache,
    version: u64,
    grace_ms: i64,
) -> Result<Response<Body>, ApiError> {
    let (targets, latest, _) = crate::routes::load_at(store, defs, version).await?;
    let mut runs = Vec::new();
    for kind in TargetKind::ALL {
        if let Some(r) = store.last_run(kind).await? {
            runs.push(r);
        }
    }
    let verdicts = crate::routes::locations::verdicts_all(store).await?;
    let location_latency = targets
        .iter()
        .flat_map(|t| {
            verdicts.get(&t.id).into_iter().flatten().filter_map(|v| {
                v.latency_ms.map(|ms| {
                    let labels = LocationLatencyLabels {
                        target: t.id.clone(),
                        kind: t.kind().as_str(),
                        location: v.location.clone(),
                    };
                    (labels, ms)
                })
            })
        })
        .collect();
    let now = lookout_core::time::now_ms();
    let location_up = store
        .location_health()
        .await?
        .into_iter()
        .map(|h| {
            let up = !h.overdue(now, grace_ms);
            (
                LocationLabels {
                    location: h.location,
                },
                up,
            )
        })
        .collect();
    let (slos, records) = Box::pin(async { tokio::join!(store.slos(), store.slo_records()) }).await;
    let slos = slo::rows(&slos?, &records?, now);
    let snapshot = Snapshot {
        targets: targets
            .iter()
            .map(|t| TargetRow::new(t, latest.get(&t.id)))
            .collect(),
        runs,
        location_latency,
        location_up,
        slos,
    };
    let text = exposition(snapshot).map_err(ApiError::internal)?;
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(Body::Text(text))
        .map_err(ApiError::internal)
}

/// The text exposition of `snapshot`, without the OpenMetrics `# EOF` line.
fn exposition(snapshot: Snapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    prometheus_client::encoding::text::encode_registry(&mut text, &registry)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_keep_their_0_0_4_names_and_label_values_are_escaped() {
        let snapshot = Snapshot {
            targets: vec![TargetRow {
                labels: TargetLabels {
                    id: "px".into(),
                    kind: "proxy",
                    group: "say \"hi\" \\ \n".into(),
                },
                up: true,
                status: Status::Healthy,
                counts: Some((10, 2)),
                latency_ms: Some(1500),
                cert_days_left: None,
                proxy: Some((2048, finite(f64::INFINITY))),
            }],
            runs: Vec::new(),
            location_latency: vec![(
                LocationLatencyLabels {
                    target: "px".into(),
                    kind: "proxy",
                    location: "eu-west-1".into(),
                },
                42,
            )],
            location_up: vec![
                (
                    LocationLabels {
                        location: "eu-west-1".into(),
                    },
                    true,
                ),
                (
                    LocationLabels {
                        location: "us-east-1".into(),
                    },
                    false,
                ),
            ],
            slos: Vec::new(),
        };
        let text = exposition(snapshot).unwrap();
        let labels = r#"{id="px",kind="proxy",group="say \"hi\" \\ \n"}"#;
        for line in [
            "# HELP lookout_target_checks_total Checks counted since the last statistics reset.",
            "# TYPE lookout_target_checks_total counter",
            &format!("lookout_target_checks_total{labels} 10"),
            "# TYPE lookout_target_latency_seconds gauge",
            &format!("lookout_target_latency_seconds{labels} 1.5"),
            &format!("lookout_proxy_cost{labels} NaN"),
            "# TYPE lookout_location_latency_ms gauge",
            r#"lookout_location_latency_ms{target="px",kind="proxy",location="eu-west-1"} 42"#,
            "# TYPE lookout_location_up gauge",
            r#"lookout_location_up{location="eu-west-1"} 1"#,
            r#"lookout_location_up{location="us-east-1"} 0"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing in\n{text}"
            );
        }
        assert!(!text.contains("# EOF") && !text.contains("cert_days_left{"));
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("valid exposition format");
        let checks = scrape
            .samples
            .iter()
            .find(|s| s.metric == "lookout_target_checks_total")
            .expect("a checks sample");
        assert!(
            matches!(checks.value, prometheus_parse::Value::Counter(v) if v == 10.0),
            "a 0.0.4 parser reads a counter: {:?}",
            checks.value
        );
    }
}
