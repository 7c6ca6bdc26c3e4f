//! `GET /v1/health`'s dependency checks against DynamoDB Local and moto.

use crate::common;

use lookout_aws::health::AwsHealth;

#[tokio::test]
async fn every_dependency_answers_and_a_missing_one_is_named() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, _queue, _sqs) = common::fresh_topic(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let healthy = AwsHealth {
        table: (ddb.clone().into(), table.clone()),
        topic: Some((sns.clone().into(), topic)),
        bucket: Some((s3.clone().into(), bucket)),
    };
    let deps = healthy.check().await;
    let names: Vec<_> = deps.iter().map(|d| (d.name, d.ok)).collect();
    assert_eq!(
        names,
        vec![("table", true), ("topic", true), ("bucket", true)],
        "{deps:?}"
    );
    let broken = AwsHealth {
        table: (ddb.into(), "no-such-table".into()),
        topic: None,
        bucket: Some((s3.into(), "no-such-bucket".into())),
    };
    let deps = broken.check().await;
    assert_eq!(
        deps.iter().map(|d| (d.name, d.ok)).collect::<Vec<_>>(),
        vec![("table", false), ("bucket", false)]
    );
    assert_eq!(
        deps[0].message.as_deref(),
        Some("unreachable; see the function's log"),
        "no AWS detail (account, role, ARN) in a public answer"
    );
}

/// The API built as `main` builds it (`App::from_aws`), its table's endpoint a loopback port
/// where nothing listens.
async fn api_with_a_dead_table() -> std::sync::Arc<api::App<lookout_aws::dynamodb::DynamoStore>> {
    let closed = lookout_app::testing::closed_port().await;
    let mut aws = common::aws().await.to_builder();
    aws.set_endpoint_url(Some(closed));
    // Set in code, so that it wins over the stack's AWS_ENDPOINT_URL_DYNAMODB.
    aws.insert_origin("endpoint_url", aws_types::origin::Origin::shared_config());
    let aws = aws.build();
    let settings = lookout_app::config::Settings::from_lookup(|name| match name {
        "LOOKOUT_TABLE" => Some("lookout-down".into()),
        "LOOKOUT_ADMIN_TOKEN" => Some("admin".into()),
        _ => None,
    })
    .unwrap();
    std::sync::Arc::new(
        api::App::from_aws(settings, &lookout_aws::Aws::from_sdk_config(aws))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn while_dynamodb_does_not_answer_every_store_route_says_503_unavailable_within_two_seconds()
{
    let app = api_with_a_dead_table().await;
    let target = r#"{"id":"a","group":"g","kind":"server","url":"http://127.0.0.1:9/"}"#;
    for (method, path, body) in [
        ("GET", "/v1/status", ""),
        ("GET", "/v1/summary", ""),
        ("GET", "/v1/targets", ""),
        ("GET", "/v1/targets/a", ""),
        ("GET", "/v1/runs", ""),
        ("POST", "/v1/targets", target),
        ("PUT", "/v1/targets", target),
    ] {
        let req = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("http://localhost{path}"))
            .header("authorization", "Bearer admin")
            .body(lambda_http::Body::from(body.to_string()))
            .unwrap();
        let started = std::time::Instant::now();
        let resp = Box::pin(api::handle(&app, req)).await;
        let took = started.elapsed();
        assert_eq!(resp.status().as_u16(), 503, "{method} {path}");
        let body: serde_json::Value = match resp.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{method} {path}: {other:?}"),
        };
        assert_eq!(body["error"]["code"], "unavailable", "{method} {path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("DynamoDB endpoint does not answer")),
            "{body}"
        );
        assert!(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u32>().ok())
                .is_some(),
            "{method} {path}: Retry-After"
        );
        assert!(
            took < std::time::Duration::from_secs(2),
            "{method} {path} took {took:?}"
        );
    }
    // The health route names the table as down, quickly too.
    let started = std::time::Instant::now();
    let (status, body) = common::call(&app, "GET", "/v1/health", "").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["dependencies"][0]["ok"], false);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
