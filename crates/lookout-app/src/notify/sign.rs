//! Signatures of generic webhook notifications, and their verification for receivers.
//!
//! Each request carries two headers:
//! - `X-Lookout-Timestamp: <epoch seconds>`, the time it was sent (each retry has its own);
//! - `X-Lookout-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
//!
//! This is the scheme Stripe (`Stripe-Signature: t=...,v1=...`, "Verify webhook signatures")
//! and Slack (`X-Slack-Signature: v0=...` over `v0:<timestamp>:<body>`, "Verifying requests
//! from Slack") use: the timestamp is signed with the body, so a receiver that refuses
//! timestamps older than a tolerance (five minutes in both) refuses replays of old requests;
//! one that must refuse a replay inside the tolerance too remembers the signatures it has seen
//! for that long. Receivers compare in constant time ([`verify`] does).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header with the time of sending, epoch seconds.
pub const TIMESTAMP_HEADER: &str = "X-Lookout-Timestamp";

/// The header with the signature, `v1=<64 lower-case hex digits>`.
pub const SIGNATURE_HEADER: &str = "X-Lookout-Signature";

/// The version prefix of a signature.
pub const SCHEME: &str = "v1";

/// The tolerance receivers are advised to use, seconds (Stripe's and Slack's: five minutes).
pub const DEFAULT_TOLERANCE_S: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (RFC 2104 §2), so this never fails.
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `X-Lookout-Signature` value of `body` sent at `timestamp_s` (epoch seconds):
/// `v1=<hex HMAC-SHA256(secret, "<timestamp_s>.<body>")>`.
pub fn signature(secret: &str, timestamp_s: i64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp_s.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{SCHEME}={}", hex::encode(tag))
}

/// The two headers of a signed request sent at `timestamp_s`: `(name, value)` for
/// [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`].
pub fn headers(secret: &str, timestamp_s: i64, body: &[u8]) -> [(&'static str, String); 2] {
    [
        (TIMESTAMP_HEADER, timestamp_s.to_string()),
        (SIGNATURE_HEADER, signature(secret, timestamp_s, body)),
    ]
}

/// Why [`verify`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp header is not a whole number of seconds.
    #[error("the timestamp is not epoch seconds")]
    BadTimestamp,
    /// The timestamp is further from now than the tolerance (a replay of an old request, or a
    /// clock far off).
    #[error("the timestamp is outside the tolerance")]
    Stale,
    /// No `v1=<hex>` signature in the header.
    #[error("no v1 signature in the header")]
    BadHeader,
    /// No signature matches the body and timestamp (another secret, or an altered body).
    #[error("the signature does not match")]
    Mismatch,
}

/// Verifies a signed webhook request, as a receiver does: `timestamp` and `header` are the
/// values of [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`], `body` the raw body bytes as
/// received, `now_s` the receiver's time (epoch seconds). The header may list several
/// signatures separated by commas (`v1=...,v1=...`, while a secret is rotated); any match
/// passes. Signatures are compared in constant time (`hmac`'s `verify_slice`).
///
/// # Errors
/// [`VerifyError`]: a timestamp that does not parse or lies more than `tolerance_s` seconds
/// from `now_s` (either way), a header without a `v1` signature, or no signature that matches.
pub fn verify(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), VerifyError> {
    let timestamp = timestamp.trim();
    let at: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    if now_s.abs_diff(at) > tolerance_s.unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    let candidates: Vec<Vec<u8>> = header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .take(8)
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::BadHeader);
    }
    let expected = mac(secret, timestamp, body);
    if candidates
        .iter()
        .any(|c| expected.clone().verify_slice(c).is_ok())
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef";

    #[test]
    fn a_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() {
        // RFC 4231 test case 2 has key "Jefe" and data "what do ya want for nothing?": the same
        // HMAC, with the data split as "<timestamp>.<body>".
        assert_eq!(
            signature("Jefe", 0, b"what do ya want for nothing?")[3..].len(),
            64
        );
        let whole = {
            let mut m = HmacSha256::new_from_slice(b"Jefe").unwrap();
            m.update(b"what do ya want for nothing?");
            hex::encode(m.finalize().into_bytes())
        };
        assert_eq!(
            whole,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let split = {
            let mut m = HmacSha256::new_from_slice(b"Jefe").unwrap();
            m.update(b"1700000000.{\"a\":1}");
            format!("v1={}", hex::encode(m.finalize().into_bytes()))
        };
        assert_eq!(signature("Jefe", 1_700_000_000, b"{\"a\":1}"), split);
    }

    #[test]
    fn a_signed_request_verifies_and_a_replay_an_altered_body_or_another_secret_does_not() {
        let body = br#"{"key":"web#down#1"}"#;
        let [(_, ts), (_, sig)] = headers(SECRET, 1_700_000_000, body);
        assert_eq!(verify(SECRET, &ts, body, &sig, 1_700_000_010, 300), Ok(()));
        // Rotation: any listed signature may match.
        let both = format!("v1={},{sig}", "00".repeat(32));
        assert_eq!(verify(SECRET, &ts, body, &both, 1_700_000_010, 300), Ok(()));
        // A replay an hour later.
        assert_eq!(
            verify(SECRET, &ts, body, &sig, 1_700_003_600, 300),
            Err(VerifyError::Stale)
        );
        // A timestamp from the future beyond the tolerance.
        assert_eq!(
            verify(SECRET, &ts, body, &sig, 1_699_999_000, 300),
            Err(VerifyError::Stale)
        );
        // A fresh timestamp put on an old signature.
        assert_eq!(
            verify(SECRET, "1700000100", body, &sig, 1_700_000_100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                SECRET,
                &ts,
                br#"{"key":"web#up#1"}"#,
                &sig,
                1_700_000_010,
                300
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("another-secret-16", &ts, body, &sig, 1_700_000_010, 300),
            Err(VerifyError::Mismatch)
        );
        for bad in ["", "v0=abcd", "sha256=00", "v1=zz"] {
            assert_eq!(
                verify(SECRET, &ts, body, bad, 1_700_000_010, 300),
                Err(VerifyError::BadHeader),
                "{bad}"
            );
        }
        assert_eq!(
            verify(SECRET, "soon", body, &sig, 1_700_000_010, 300),
            Err(VerifyError::BadTimestamp)
        );
    }
}
