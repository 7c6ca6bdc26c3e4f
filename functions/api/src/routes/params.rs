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
