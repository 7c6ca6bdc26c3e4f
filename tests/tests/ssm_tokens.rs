//! Tokens from an SSM SecureString parameter, against moto.

mod common;

use lookout::adapters::ssm::read_tokens;

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
    let e = read_tokens(&ssm, "/lookout/missing").await.unwrap_err();
    assert!(
        e.contains("/lookout/missing") && !e.contains("adm-123"),
        "{e}"
    );
}
