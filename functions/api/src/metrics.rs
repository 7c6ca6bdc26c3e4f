//! `GET /metrics`: Prometheus text exposition format 0.0.4 (the format every Prometheus server
//! scrapes; see prometheus.io/docs/instrumenting/exposition_formats).

use std::fmt::Write as _;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::domain::{Status, TargetKind};
use lookout::ports::{RunStore, StateStore, TargetStore};

use crate::error::ApiError;

/// A label value escaped as the format asks: backslash, double quote and line feed.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let value = if value.is_finite() {
            format!("{value}")
        } else {
            "NaN".into()
        };
        let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// The metrics of every target (up, status, last latency in seconds, checks and failures,
/// certificate days left, proxy traffic and cost) and of the last run of each kind.
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn metrics<S: TargetStore + StateStore + RunStore>(
    store: &S,
) -> Result<Response<Body>, ApiError> {
    let targets = store.list_targets(None).await?;
    let mut latest = crate::routes::latest_all(store).await?;
    lookout::ports::catch_up_all(&mut latest, &targets);
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    let rows: Vec<_> = targets
        .iter()
        .map(|t| {
            let l = latest.get(&t.id);
            (t, l.map(|l| &l.state), l.and_then(|l| l.result.as_ref()))
        })
        .collect();
    let labels = |t: &lookout::domain::Target| -> [(&'static str, String); 3] {
        [
            ("id", t.id.clone()),
            ("kind", t.kind().as_str().to_string()),
            ("group", t.group.clone()),
        ]
    };
    macro_rules! family {
        ($name:expr, $type:expr, $help:expr, $value:expr) => {{
            f.head($name, $type, $help);
            for (t, s, r) in &rows {
                let value: Option<f64> = $value(t, s, r);
                if let Some(v) = value {
                    let ls = labels(t);
                    let refs: Vec<(&str, &str)> =
                        ls.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    f.sample($name, &refs, v);
                }
            }
        }};
    }
    family!(
        "lookout_target_up",
        "gauge",
        "1 when the target is healthy or degraded, 0 otherwise.",
        |_t: &&lookout::domain::Target,
         s: &Option<&lookout::domain::TargetState>,
         _r: &Option<&lookout::domain::CheckResult>| {
            Some(f64::from(u8::from(s.is_some_and(|s| s.status.eligible()))))
        }
    );
    f.head(
        "lookout_target_status",
        "gauge",
        "1 for the target's current status, 0 for the others.",
    );
    for (t, s, _) in &rows {
        let current = s.map_or(Status::Unknown, |s| s.status);
        for st in Status::ALL {
            let ls = labels(t);
            let mut refs: Vec<(&str, &str)> = ls.iter().map(|(k, v)| (*k, v.as_str())).collect();
            refs.push(("status", st.as_str()));
            f.sample(
                "lookout_target_status",
                &refs,
                f64::from(u8::from(st == current)),
            );
        }
    }
    family!(
        "lookout_target_latency_seconds",
        "gauge",
        "Total time of the latest check, seconds.",
        |_t, _s, r: &Option<&lookout::domain::CheckResult>| r.map(|r| r.latency_ms as f64 / 1000.0)
    );
    family!(
        "lookout_target_checks_total",
        "counter",
        "Checks counted since the last statistics reset.",
        |_t, s: &Option<&lookout::domain::TargetState>, _r| s.map(|s| s.checks as f64)
    );
    family!(
        "lookout_target_failures_total",
        "counter",
        "Failed or blocked checks counted since the last statistics reset.",
        |_t, s: &Option<&lookout::domain::TargetState>, _r| s.map(|s| s.failures as f64)
    );
    family!(
        "lookout_target_cert_days_left",
        "gauge",
        "Whole days until the server certificate expires (HTTPS targets).",
        |_t, _s, r: &Option<&lookout::domain::CheckResult>| r
            .and_then(|r| r.cert_days_left)
            .map(|d| d as f64)
    );
    family!(
        "lookout_proxy_traffic_bytes_total",
        "counter",
        "Bytes through the proxy, probes and reported usage.",
        |t: &&lookout::domain::Target, s: &Option<&lookout::domain::TargetState>, _r| {
            t.proxy().and(s.map(|s| s.traffic_bytes as f64))
        }
    );
    family!(
        "lookout_proxy_cost",
        "gauge",
        "Estimated cost of that traffic, in the currency of cost_per_gb.",
        |t: &&lookout::domain::Target, s: &Option<&lookout::domain::TargetState>, _r| {
            t.proxy().and(s.map(|s| s.cost))
        }
    );
    let mut runs = Vec::new();
    for kind in TargetKind::ALL {
        if let Some(r) = store.last_run(kind).await? {
            runs.push(r);
        }
    }
    f.head(
        "lookout_run_duration_seconds",
        "gauge",
        "Wall time of the last probe run of the kind, seconds.",
    );
    for r in &runs {
        f.sample(
            "lookout_run_duration_seconds",
            &[("kind", r.kind.as_str())],
            r.duration_ms as f64 / 1000.0,
        );
    }
    f.head(
        "lookout_run_checked",
        "gauge",
        "Targets checked by the last probe run of the kind.",
    );
    for r in &runs {
        f.sample(
            "lookout_run_checked",
            &[("kind", r.kind.as_str())],
            r.checked as f64,
        );
    }
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(Body::Text(out))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}
