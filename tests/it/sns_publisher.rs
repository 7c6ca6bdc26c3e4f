//! The SNS publisher against moto, read back through an SQS queue subscribed to the topic.

use crate::common;

use lookout_app::ports::AlertPublisher;
use lookout_aws::sns::SnsPublisher;
use lookout_core::domain::{Alert, AlertKind, Severity, Status, TargetKind};

#[tokio::test]
async fn an_alert_arrives_with_subject_json_body_and_filterable_attributes() {
    let aws = common::aws().await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let alert = Alert {
        key: "proxy-vps#blocked#1".into(),
        kind: AlertKind::StatusChange,
        severity: Severity::Warning,
        target_id: "proxy-vps".into(),
        target_name: "VPS proxy".into(),
        target_kind: TargetKind::Proxy,
        group: "pool".into(),
        old_status: Status::Healthy,
        new_status: Status::Blocked,
        at: 1,
        subject: "[WARNING] proxy VPS proxy is blocked".into(),
        text: "blocked".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    };
    publisher.publish(&alert).await.unwrap();
    let got = common::drain(&sqs, &queue).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["Subject"], "[WARNING] proxy VPS proxy is blocked");
    let body: Alert = serde_json::from_str(got[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body, alert);
    let attrs = &got[0]["MessageAttributes"];
    assert_eq!(attrs["severity"]["Value"], "warning");
    assert_eq!(attrs["kind"]["Value"], "status_change");
    assert_eq!(attrs["target_kind"]["Value"], "proxy");
    assert_eq!(attrs["group"]["Value"], "pool");
    // The key, for subscribers to drop the repeats of an at-least-once delivery.
    assert_eq!(attrs["alert_key"]["Value"], "proxy-vps#blocked#1");
    assert_eq!(attrs["alert_key"]["Type"], "String");
}

/// An alert of no group (an SLO over one target or a tag) is published without a `group`
/// attribute: SNS refuses an empty one, and the alert would otherwise stay pending for ever.
#[tokio::test]
async fn an_alert_without_a_group_is_published_without_the_attribute() {
    let aws = common::aws().await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let alert = Alert {
        key: "slo#vps#page#1".into(),
        kind: AlertKind::SloBurn,
        severity: Severity::Critical,
        target_id: String::new(),
        target_name: "VPS availability".into(),
        target_kind: TargetKind::Proxy,
        group: String::new(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at: 1,
        subject: "[CRITICAL] SLO VPS availability: error budget burning".into(),
        text: "burning".into(),
        targets: vec!["proxy-vps".into()],
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    };
    publisher.publish(&alert).await.unwrap();
    let got = common::drain(&sqs, &queue).await;
    assert_eq!(got.len(), 1);
    let attrs = &got[0]["MessageAttributes"];
    assert_eq!(attrs["kind"]["Value"], "slo_burn");
    assert!(attrs.get("group").is_none(), "{attrs}");
}
