//! Implementations of the [`lookout_app::ports`]: DynamoDB, SNS, SES and S3 (the only code that sees
//! aws-sdk types) and in-memory fakes for unit tests.

pub mod dynamodb;
mod error;
mod facade;
pub mod health;
pub mod lambda;
pub mod mail;
pub mod s3;
pub mod sealing;
pub mod secrets;
pub mod sns;
pub mod sqs;
pub mod ssm;

pub use facade::Aws;

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL_*`), with
/// one HTTPS client for every AWS client: rustls with ring, the crypto the prober already uses.
/// The SDK's default client would bring a second crypto library (aws-lc) into every binary.
///
/// The HTTPS client is [`LazyHttps`]: building an SDK client does no TLS work, so a function's
/// init (before its first event) reads no certificate; the trusted roots are read once per
/// process, on the first request of any client, and the clients share its connectors.
///
/// When the environment holds the credentials (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`,
/// as on Lambda) and `AWS_REGION`, those are given to the loader directly: the default chains
/// would pick the same ones first, but building them starts an STS client and two IMDS clients
/// (SDK partition tables parsed, regexes compiled) that are then never asked.
pub async fn aws_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(LazyHttps::shared());
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Some(region) = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

/// The configuration of the table's clients: `aws` in the region `LOOKOUT_TABLE_REGION`
/// (`settings.table_region`) when it is set (a location other than the home one writes the home
/// table), `aws` itself otherwise. Credentials and `AWS_ENDPOINT_URL_*` endpoints are kept.
pub fn table_config(
    aws: &aws_config::SdkConfig,
    settings: &lookout_app::config::Settings,
) -> aws_config::SdkConfig {
    match settings.table_region.as_deref() {
        Some(region) => aws
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build(),
        None => aws.clone(),
    }
}

/// An SDK client made on first use from an [`aws_config::SdkConfig`] (building one parses the
/// SDK crate's endpoint partitions and assembles its runtime plugins: work a function's init
/// should not do for clients its first event may not need). Dereferences to the client; clones
/// share it (it is made once). `From<C>` wraps a client already made.
#[derive(Debug)]
pub struct LazyClient<C>(std::sync::Arc<std::sync::LazyLock<C, MakeClient<C>>>);

/// How a [`LazyClient`] makes its client.
type MakeClient<C> = Box<dyn FnOnce() -> C + Send>;

impl<C> LazyClient<C> {
    /// A client that `make` builds from `aws` on first use.
    pub fn new(
        aws: &aws_config::SdkConfig,
        make: impl FnOnce(&aws_config::SdkConfig) -> C + Send + 'static,
    ) -> Self {
        let aws = aws.clone();
        LazyClient(std::sync::Arc::new(std::sync::LazyLock::new(Box::new(
            move || make(&aws),
        ))))
    }
}

impl<C: Send + 'static> From<C> for LazyClient<C> {
    fn from(client: C) -> Self {
        LazyClient(std::sync::Arc::new(std::sync::LazyLock::new(Box::new(
            move || client,
        ))))
    }
}

impl<C> std::ops::Deref for LazyClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        std::sync::LazyLock::force(&self.0)
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        LazyClient(self.0.clone())
    }
}

/// The SDK's hyper client on rustls with ring, without the eager start it has on its own: the
/// SDK builds (and drops) one connector, trusted roots included, for every client it builds,
/// "so that native certs load at client initialization time". This one builds its connectors
/// on the first request that needs them (one per distinct timeout setting, cached and shared by
/// every client that holds this client); the native roots are read once per process.
#[derive(Debug, Clone)]
pub struct LazyHttps(aws_smithy_runtime_api::client::http::SharedHttpClient);

impl LazyHttps {
    /// The client, ready to hand to an [`aws_config::ConfigLoader`] or an SDK `Config` builder.
    pub fn shared() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        aws_smithy_runtime_api::client::http::SharedHttpClient::new(LazyHttps(https))
    }
}

impl aws_smithy_runtime_api::client::http::HttpClient for LazyHttps {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps the trait's default (nothing to check): the inner
    // client's would build a connector now, which is the work this type defers.

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

pub(crate) use error::{build_error, conditional, found, sdk_message, store_error};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_region_moves_only_the_region() {
        let aws = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("ap-south-1"))
            .endpoint_url("http://127.0.0.1:18000")
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let settings = |region: Option<&str>| {
            lookout_app::config::Settings::from_lookup(|k| match k {
                "LOOKOUT_TABLE" => Some("t".into()),
                "LOOKOUT_TABLE_REGION" => region.map(str::to_string),
                _ => None,
            })
            .unwrap()
        };
        let home = table_config(&aws, &settings(Some("eu-west-1")));
        assert_eq!(home.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(home.endpoint_url(), Some("http://127.0.0.1:18000"));
        let own = table_config(&aws, &settings(None));
        assert_eq!(own.region().map(|r| r.as_ref()), Some("ap-south-1"));
        // The adapter's client is made from it.
        let client = aws_sdk_dynamodb::Client::new(&home);
        assert_eq!(
            client.config().region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
    }
}
