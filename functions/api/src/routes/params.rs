//! Checks of query values shared by several routes; each failure is a 400 naming the parameter.

use lookout_core::domain::TargetKind;

use crate::ApiError;

/// `limit`: `default` when absent, else 1 to `max`.
///
/// # Errors
/// 400 `limit must be 1 to <max>`.
pub fn limit(value: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be 1 to {max}"))),
    }
}

/// `kind`: `server` or `proxy`, or absent.
///
/// # Errors
/// 400 `kind must be server or proxy`.
pub fn kind(value: Option<&str>) -> Result<Option<TargetKind>, ApiError> {
    value
        .map(|k| {
            TargetKind::parse(k)
                .ok_or_else(|| ApiError::bad_request("kind must be server or proxy"))
        })
        .transpose()
}

/// A time parameter (`since`, `until`, `before`) in RFC 3339, as epoch ms.
///
/// # Errors
/// 400 `<name> must be an RFC 3339 time`.
pub fn time(value: Option<&str>, name: &str) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| ApiError::bad_request(format!("{name} must be an RFC 3339 time")))
        })
        .transpose()
}

/// A flag (`dry_run`, `prune`): `true`, or `false` when absent.
///
/// # Errors
/// 400 `<name> must be true or false`.
pub fn flag(value: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::bad_request(format!(
            "{name} must be true or false"
        ))),
    }
}

/// What a `kind` filter of a target listing keeps ([`kind_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindFilter {
    /// `server` or `proxy`: the targets of that run ([`lookout_core::domain::Target::kind`]);
    /// `server` keeps every target the server run checks (HTTP, TCP, TLS, DNS and heartbeat),
    /// as the status rows' `kind` and the summary's `by_kind` count them.
    Run(TargetKind),
    /// `tcp`, `tls`, `dns` or `heartbeat`: the targets whose definition has that `kind`
    /// ([`lookout_core::domain::Target::check_kind`]).
    Check(lookout_core::domain::target::CheckKind),
}

impl KindFilter {
    /// Whether `t` is kept.
    pub fn keeps(self, t: &lookout_core::domain::Target) -> bool {
        self.keeps_kinds(t.kind(), t.check_kind())
    }

    /// Whether a target of the run `run` and the definition's kind `check` is kept.
    pub fn keeps_kinds(
        self,
        run: TargetKind,
        check: lookout_core::domain::target::CheckKind,
    ) -> bool {
        match self {
            KindFilter::Run(k) => run == k,
            KindFilter::Check(k) => check == k,
        }
    }
}

/// `kind` of a target listing: `server`, `proxy` (the run), or `tcp`, `tls`, `dns`,
/// `heartbeat` (the definition's kind), or absent.
///
/// # Errors
/// 400 `kind must be server, proxy, tcp, tls, dns or heartbeat`.
pub fn kind_filter(value: Option<&str>) -> Result<Option<KindFilter>, ApiError> {
    use lookout_core::domain::target::CheckKind;
    value
        .map(|k| match (TargetKind::parse(k), CheckKind::parse(k)) {
            (Some(run), _) => Ok(KindFilter::Run(run)),
            (None, Some(check)) => Ok(KindFilter::Check(check)),
            (None, None) => Err(ApiError::bad_request(
                "kind must be server, proxy, tcp, tls, dns or heartbeat",
            )),
        })
        .transpose()
}
