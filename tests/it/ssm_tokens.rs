//! Tokens from an SSM SecureString parameter, against moto.

use crate::common;

use lookout_aws::ssm::read_tokens;

#[tokio::test]
async fn tokens_are_read_from_a_secure_string_and_a_missing_one_is_named() {
    let aws = common::aws().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let name = format!("/lookout/{}", common::unique("tokens"));
    ssm.put_parameter()
        .name(&name)
        .value(r#"{"admin":"adm-123","read":"rd-456"}"#)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let tokens = read_tokens(&ssm, &name).await.unwrap();
    assert_eq!(
        (tokens.admin.as_deref(), tokens.read.as_deref()),
        (Some("adm-123"), Some("rd-456"))
    );
    let e = read_tokens(&ssm, "/lookout/missing")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/lookout/missing") && !e.contains("adm-123"),
        "{e}"
    );
}

/// A Secrets Manager client for the local stack: `AWS_ENDPOINT_URL_SECRETSMANAGER` (local.env),
/// or else the SSM endpoint (the same moto server); either must be on loopback, so that the test
/// never reaches AWS.
fn secrets_manager(aws: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETSMANAGER")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_SSM"))
        .unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL_SSM must point at moto on loopback (got {endpoint:?})"
    );
    let config = aws_sdk_secretsmanager::config::Builder::from(aws)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

#[tokio::test]
async fn tokens_are_read_from_a_secrets_manager_secret_through_the_ssm_reference_path() {
    let aws = common::aws().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let secrets = secrets_manager(&aws);
    // The name the SAM template's TokenParameterName pattern and IAM statement expect.
    let secret = common::unique("lookout-tokens");
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"admin":"adm-789","read":"rd-012"}"#)
        .send()
        .await
        .unwrap();

    let name = format!("/aws/reference/secretsmanager/{secret}");
    let tokens = read_tokens(&ssm, &name).await;
    let missing = format!("/aws/reference/secretsmanager/{secret}-missing");
    let e = read_tokens(&ssm, &missing).await;
    secrets
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();

    let tokens = tokens.unwrap();
    assert_eq!(
        (tokens.admin.as_deref(), tokens.read.as_deref()),
        (Some("adm-789"), Some("rd-012"))
    );
    let e = e.unwrap_err().to_string();
    assert!(e.contains(&missing) && !e.contains("adm-789"), "{e}");
}
