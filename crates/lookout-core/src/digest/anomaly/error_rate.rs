//! The error-rate detector: the hour's failure rate against the baseline's pooled rate, by the
//! one-sided binomial z-score; and the advice per error kind.

use super::{Rollup, Thresholds, Verdict};

/// The verdict on `hour` against the baseline hours `base`, if it is anomalous.
pub(super) fn judge(hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
    let (failures, checks) = base
        .iter()
        .fold((0u64, 0u64), |(f, n), r| (f + r.failures, n + r.checks));
    if checks == 0 {
        return None;
    }
    let usual = failures as f64 / checks as f64;
    let p0 = usual.max(t.error_rate_floor);
    let n = hour.checks as f64;
    let p = hour.failures as f64 / n;
    if p <= p0 || p0 >= 1.0 {
        return None;
    }
    let z = (p - p0) / (p0 * (1.0 - p0) / n).sqrt();
    let spike = hour.failures >= t.error_min_failures
        && p >= t.error_min_rate
        && p >= t.error_min_ratio * p0
        && z >= t.error_z;
    spike.then_some(Verdict {
        score: z,
        observed: p,
        baseline: usual,
        seasonal: false,
    })
}

/// A rate 0 to 1 as a percentage for text: `12.0%`, `0.25%`, `0%`.
fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 1.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// The most common error kind of the hour's failures, with its share of them.
pub(super) fn dominant_error(hour: &Rollup) -> Option<(&str, f64)> {
    let total: u64 = hour.errors.values().sum();
    let mut best: Option<(&str, u64)> = None;
    for (k, v) in &hour.errors {
        if *v > 0 && best.is_none_or(|(_, b)| *v > b) {
            best = Some((k.as_str(), *v));
        }
    }
    best.map(|(k, v)| (k, v as f64 / total as f64))
}

/// What to check for failures of the error kind `error`.
pub fn advice(error: &str) -> &'static str {
    match error {
        "timeout" => {
            "Checks time out: check the upstream's load (CPU, memory, connection pool) and any \
             slow dependency (database, external API)."
        }
        "connect" => {
            "Connections are refused or reset: check that the process is running and listening \
             on its port, and the firewall or security group rules."
        }
        "dns" => {
            "The host name does not resolve: check the DNS records and the domain's registration."
        }
        "tls" => {
            "The TLS handshake fails: check the certificate and TLS settings of the server or \
             of the load balancer in front of it."
        }
        "cert" => {
            "The certificate is refused: check its expiry, that it covers the host name and that \
             the chain is complete."
        }
        "status" => {
            "The server answers with unexpected statuses: check the last deploy and the server's \
             logs for 5xx errors."
        }
        "blocked" => {
            "The upstream is refusing the probe: rotate the proxy or IP address, or check for \
             rate limiting."
        }
        "proxy" => "The proxy fails to relay: check the proxy service and its upstream link.",
        "proxy_auth" => {
            "The proxy refuses the credentials (407): check the proxy's user name, password and \
             subscription."
        }
        "assertion" => {
            "The answer's content changed: check what the page or API returns now (a deploy, an \
             error page served with status 200) and update the assertion if the change is meant."
        }
        "forbidden" => {
            "The address guard refuses the destination: check the target's URL and what its host \
             name resolves to (a private or loopback address)."
        }
        "reported" => {
            "The job reports failures on its push URL: read the pings' messages and bodies \
             (GET /v1/targets/{id}/pings) and the job's own logs."
        }
        "late" => {
            "The job's pings are late or its runs do not finish within the grace time: check \
             that its scheduler (cron, the batch queue) still starts it and how long it runs."
        }
        _ => "Check the target's logs and the checks' error messages for the cause.",
    }
}

/// Explanation and recommendation of an error-rate spike.
pub(super) fn explain(last: &Rollup, from: &str, v: Verdict) -> (String, String) {
    let all = last.target_id == "*";
    let dominant = dominant_error(last);
    let mostly = match dominant {
        Some((k, share)) if share > 0.5 => format!(", mostly {k}"),
        Some((k, _)) => format!(", most often {k}"),
        None => String::new(),
    };
    let explanation = format!(
        "{} of checks failed against {} usually ({} of {}) since {from}{mostly}",
        percent(v.observed),
        percent(v.baseline),
        last.failures,
        last.checks
    );
    let advice = dominant.map_or(advice(""), |(k, _)| advice(k));
    let recommendation = if all {
        format!(
            "Many targets fail at once: look for a shared cause (the monitor's network, a \
             DNS or cloud provider, a shared dependency). {advice}"
        )
    } else {
        advice.to_string()
    };
    (explanation, recommendation)
}
