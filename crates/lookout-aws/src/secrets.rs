//! [`AwsSecrets`]: the secret resolver of the functions, reading SSM Parameter Store and Secrets
//! Manager (see `lookout_app::secrets` for the reference syntax).

use futures::future::BoxFuture;

use super::sdk_message;
use lookout_app::secrets::{FetchError, SecretRef, SecretResolver};

/// Reads `{{ssm:...}}` with `GetParameter` (with decryption) and `{{secretsmanager:...}}` with
/// `GetSecretValue`. The template allows `/lookout/*` parameters and `lookout*` secrets.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    ssm: super::LazyClient<aws_sdk_ssm::Client>,
    secrets: super::LazyClient<aws_sdk_secretsmanager::Client>,
}

impl AwsSecrets {
    /// Clients from `aws` (its HTTPS client and `AWS_ENDPOINT_URL_SSM` /
    /// `AWS_ENDPOINT_URL_SECRETSMANAGER`), each made on first use.
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        AwsSecrets {
            ssm: super::LazyClient::new(aws, aws_sdk_ssm::Client::new),
            secrets: super::LazyClient::new(aws, aws_sdk_secretsmanager::Client::new),
        }
    }

    /// The functions' resolver with its cache ([`lookout_app::secrets::SECRET_CACHE_TTL`]).
    pub fn cached(aws: &aws_config::SdkConfig) -> lookout_app::secrets::Secrets {
        lookout_app::secrets::Secrets::new(Self::new(aws))
    }

    /// The value of `reference`.
    ///
    /// # Errors
    /// [`FetchError`]: the SDK's message, or what the value lacks (never the value itself).
    async fn read(&self, reference: &SecretRef) -> Result<String, FetchError> {
        match reference {
            SecretRef::Ssm(name) => self
                .ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| FetchError(sdk_message(&e)))?
                .parameter
                .and_then(|p| p.value)
                .ok_or_else(|| FetchError("the parameter has no value".into())),
            SecretRef::SecretsManager { id, key } => {
                let text = self
                    .secrets
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| FetchError(sdk_message(&e)))?
                    .secret_string
                    .ok_or_else(|| {
                        FetchError("the secret has no string value (a binary secret?)".into())
                    })?;
                let Some(key) = key else { return Ok(text) };
                let doc: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
                    FetchError(format!(
                        "the secret is not a JSON object, so #{key} is not in it"
                    ))
                })?;
                doc.get(key)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| FetchError(format!("the secret has no string field {key}")))
            }
        }
    }
}

impl SecretResolver for AwsSecrets {
    fn fetch<'a>(&'a self, reference: &'a SecretRef) -> BoxFuture<'a, Result<String, FetchError>> {
        Box::pin(self.read(reference))
    }
}
