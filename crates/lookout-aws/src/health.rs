//! Reachability of the AWS dependencies, for `GET /v1/health`: the table (DescribeTable), the
//! topic (GetTopicAttributes) and the dump bucket (HeadBucket), each with its latency.

use std::time::Instant;

use serde::Serialize;

use super::sdk_message;
use lookout_core::redact::clip;

/// One dependency's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    /// `table`, `topic` or `bucket`.
    pub name: &'static str,
    /// Whether it answered.
    pub ok: bool,
    /// How long it took, ms.
    pub latency_ms: u64,
    /// Why not, when it did not (short, no credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The clients and names to check; topic and bucket are optional settings.
#[derive(Clone, Debug)]
pub struct AwsHealth {
    /// DynamoDB client and table name.
    pub table: (super::LazyClient<aws_sdk_dynamodb::Client>, String),
    /// SNS client and topic ARN.
    pub topic: Option<(super::LazyClient<aws_sdk_sns::Client>, String)>,
    /// S3 client and bucket name.
    pub bucket: Option<(super::LazyClient<aws_sdk_s3::Client>, String)>,
}

fn answer<T, E: std::error::Error>(
    name: &'static str,
    started: Instant,
    r: Result<T, E>,
) -> Dependency {
    Dependency {
        name,
        ok: r.is_ok(),
        latency_ms: started.elapsed().as_millis() as u64,
        // The answer is public: the cause (account, role, ARNs) goes to the log only.
        message: r.err().map(|e| {
            tracing::warn!(dependency = name, error = %clip(&sdk_message(&e), 500), "unreachable");
            "unreachable; see the function's log".to_string()
        }),
    }
}

impl AwsHealth {
    /// Checks every dependency at once.
    pub async fn check(&self) -> Vec<Dependency> {
        let table = async {
            let started = Instant::now();
            let (client, name) = &self.table;
            let r = client.describe_table().table_name(name).send().await;
            answer("table", started, r)
        };
        let topic = async {
            let (client, arn) = self.topic.as_ref()?;
            let started = Instant::now();
            let r = client.get_topic_attributes().topic_arn(arn).send().await;
            Some(answer("topic", started, r))
        };
        let bucket = async {
            let (client, name) = self.bucket.as_ref()?;
            let started = Instant::now();
            let r = client.head_bucket().bucket(name).send().await;
            Some(answer("bucket", started, r))
        };
        let (t, p, b) = tokio::join!(table, topic, bucket);
        std::iter::once(t).chain(p).chain(b).collect()
    }
}
