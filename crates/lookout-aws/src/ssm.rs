//! API tokens from an SSM Parameter Store SecureString, so that they stay out of the function's
//! environment.
//!
//! The parameter holds either JSON `{"admin": "...", "read": "..."}` (either may be absent) or
//! the admin token as plain text.

use super::sdk_message;

/// The tokens a parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tokens {
    /// The admin token.
    pub admin: Option<String>,
    /// The read token.
    pub read: Option<String>,
}

/// Why the tokens parameter could not be read; the messages name the parameter, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensError {
    /// `GetParameter` failed (`message`: the SDK error with its causes).
    #[error("reading SSM parameter {name}: {message}")]
    Read {
        /// The parameter's name.
        name: String,
        /// What the SDK said.
        message: String,
    },
    /// The parameter has no value, or only blanks.
    #[error("SSM parameter {name} is empty")]
    Empty {
        /// The parameter's name.
        name: String,
    },
}

/// Reads and decrypts parameter `name`.
///
/// # Errors
/// [`TokensError`] naming the parameter (never its value) when it cannot be read or is empty.
pub async fn read_tokens(client: &aws_sdk_ssm::Client, name: &str) -> Result<Tokens, TokensError> {
    let got = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| TokensError::Read {
            name: name.to_string(),
            message: sdk_message(&e),
        })?;
    let value = got
        .parameter
        .and_then(|p| p.value)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| TokensError::Empty {
            name: name.to_string(),
        })?;
    Ok(parse(&value))
}

fn parse(value: &str) -> Tokens {
    let token = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(o)) => Tokens {
            admin: token(o.get("admin")),
            read: token(o.get("read")),
        },
        _ => Tokens {
            admin: Some(value.trim().to_string()),
            read: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_or_plain_text() {
        assert_eq!(
            parse(r#"{"admin":"a1","read":"r1"}"#),
            Tokens {
                admin: Some("a1".into()),
                read: Some("r1".into())
            }
        );
        assert_eq!(parse(" a2 \n").admin.as_deref(), Some("a2"));
        assert_eq!(parse(r#"{"read":"r3"}"#).admin, None);
    }
}
