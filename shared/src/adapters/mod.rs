//! Implementations of the [`crate::ports`]: DynamoDB, SNS and S3 (the only code that sees
//! aws-sdk types) and in-memory fakes for unit tests.

pub mod dynamodb;
pub mod health;
pub mod lambda;
pub mod memory;
pub mod s3;
pub mod sns;
pub mod ssm;

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL_*`), with
/// one HTTPS client for every AWS client: rustls with ring, the crypto the prober already uses.
/// The SDK's default client would bring a second crypto library (aws-lc) into every binary.
///
/// Root certificates: the CA bundle file `SSL_CERT_FILE` names, or else the system's
/// ([`CA_BUNDLES`]), read once; with `SSL_CERT_DIR` set, the SDK's own loading. The SDK's default also opens every file of
/// `/etc/ssl/certs` and parses each certificate twice, which was most of a function's init
/// time (BENCHMARKS.md, cold start).
pub async fn aws_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    let mut https =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    // A certificate directory named: the SDK's own loading honours it.
    let bundle = if std::env::var_os("SSL_CERT_DIR").is_some() {
        None
    } else if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        std::fs::read(file).ok()
    } else {
        CA_BUNDLES.iter().find_map(|p| std::fs::read(p).ok())
    };
    if let Some(pem) = bundle {
        let store = TrustStore::empty().with_pem_certificate(pem);
        if let Ok(ctx) = TlsContext::builder().with_trust_store(store).build() {
            https = https.tls_context(ctx);
        }
    }
    let https = https.build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await
}

/// The system CA bundle files tried in order: Amazon Linux 2023 (Lambda's `provided.al2023`)
/// and RHEL, Debian and Ubuntu, Alpine and macOS, Fedora's extracted bundle. When none exists
/// the SDK's default loading applies.
pub const CA_BUNDLES: [&str; 4] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
];

/// Renders an SDK error with its whole cause chain (the SDK's `Display` alone says only
/// "service error").
pub(crate) fn sdk_message<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}
