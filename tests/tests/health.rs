//! `GET /v1/health`'s dependency checks against DynamoDB Local and moto.

mod common;

use lookout::adapters::health::AwsHealth;

#[tokio::test]
async fn every_dependency_answers_and_a_missing_one_is_named() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, _queue, _sqs) = common::fresh_topic(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let healthy = AwsHealth {
        table: (ddb.clone(), table.clone()),
        topic: Some((sns.clone(), topic)),
        bucket: Some((s3.clone(), bucket)),
    };
    let deps = healthy.check().await;
    let names: Vec<_> = deps.iter().map(|d| (d.name, d.ok)).collect();
    assert_eq!(
        names,
        vec![("table", true), ("topic", true), ("bucket", true)],
        "{deps:?}"
    );
    let broken = AwsHealth {
        table: (ddb, "no-such-table".into()),
        topic: None,
        bucket: Some((s3, "no-such-bucket".into())),
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
