use serde_json::json;

use super::*;

fn change(path: &str, before: Option<Value>, after: Option<Value>) -> FieldChange {
    FieldChange {
        object: None,
        path: path.into(),
        before,
        after,
    }
}

fn entry(objects: &[&str], changes: Vec<FieldChange>) -> AuditEntry {
    AuditEntry {
        id: "0123456789abcdef0123456789abcdef".into(),
        at: 1_764_547_200_000,
        actor: Actor {
            name: "admin".into(),
            id: Some("sha256:0123456789ab".into()),
        },
        method: "POST".into(),
        route: "/v1/targets".into(),
        objects: objects.iter().map(|o| o.to_string()).collect(),
        changes,
        cut: None,
        outcome: AuditOutcome::of_status(201, None),
    }
}

#[test]
fn a_nested_change_is_named_by_its_path_with_old_and_new_values() {
    let before = json!({"id": "web", "check": {"url": "https://a", "timeout_ms": 5000}});
    let after = json!({"id": "web", "check": {"url": "https://b", "timeout_ms": 5000}});
    assert_eq!(
        diff(Some(&before), Some(&after)),
        vec![change(
            "check.url",
            Some(json!("https://a")),
            Some(json!("https://b"))
        )]
    );
}

#[test]
fn added_and_removed_fields_have_one_side_only() {
    let before = json!({"a": 1, "gone": {"x": true}});
    let after = json!({"a": 1, "new": "n"});
    assert_eq!(
        diff(Some(&before), Some(&after)),
        vec![
            change("gone", Some(json!({"x": true})), None),
            change("new", None, Some(json!("n"))),
        ]
    );
}

#[test]
fn a_created_object_lists_each_field_and_a_deleted_one_each_field_removed() {
    let v = json!({"id": "web", "enabled": true});
    assert_eq!(
        diff(None, Some(&v)),
        vec![
            change("enabled", None, Some(json!(true))),
            change("id", None, Some(json!("web"))),
        ]
    );
    assert_eq!(
        diff(Some(&v), None),
        vec![
            change("enabled", Some(json!(true)), None),
            change("id", Some(json!("web")), None),
        ]
    );
}

#[test]
fn arrays_of_one_length_are_compared_by_index_and_others_whole() {
    let before = json!({"tags": ["a", "b"], "groups": ["x"]});
    let after = json!({"tags": ["a", "c"], "groups": ["x", "y"]});
    assert_eq!(
        diff(Some(&before), Some(&after)),
        vec![
            change("groups", Some(json!(["x"])), Some(json!(["x", "y"]))),
            change("tags[1]", Some(json!("b")), Some(json!("c"))),
        ]
    );
}

#[test]
fn a_value_of_another_type_is_one_change_of_the_whole_value() {
    let before = json!({"v": {"a": 1}});
    let after = json!({"v": [1]});
    assert_eq!(
        diff(Some(&before), Some(&after)),
        vec![change("v", Some(json!({"a": 1})), Some(json!([1])))]
    );
    assert_eq!(
        diff(Some(&json!(1)), Some(&json!("1"))),
        vec![change("", Some(json!(1)), Some(json!("1")))]
    );
}

#[test]
fn unchanged_values_give_no_change() {
    let v = json!({"a": [1, {"b": null}], "c": "d"});
    assert!(diff(Some(&v), Some(&v.clone())).is_empty());
    assert!(diff(None, None).is_empty());
}

#[test]
fn an_entry_under_the_cap_is_kept_whole() {
    let e = entry(&["target:web"], vec![change("a", None, Some(json!(1)))]);
    assert_eq!(e.clone().capped(), e);
}

#[test]
fn an_entry_over_the_cap_leaves_out_its_last_changes_and_says_how_many() {
    let changes: Vec<FieldChange> = (0..2000)
        .map(|i| change(&format!("f{i:04}"), None, Some(json!("x".repeat(40)))))
        .collect();
    let e = entry(&["target:web"], changes).capped();
    assert!(e.size() <= MAX_ENTRY_BYTES, "{} bytes", e.size());
    let cut = e.cut.expect("the entry says it was cut");
    assert!(e.changes.len() > 100, "kept {}", e.changes.len());
    assert_eq!(e.changes.len() + cut.changes, 2000);
    assert_eq!(cut.objects, 0);
    assert_eq!(e.changes[0].path, "f0000", "the first changes are kept");
}

#[test]
fn too_many_objects_are_cut_too() {
    let objects: Vec<String> = (0..5000).map(|i| format!("target:t-{i:05}")).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    let e = entry(&objects, vec![change("a", None, Some(json!(1)))]).capped();
    assert!(e.size() <= MAX_ENTRY_BYTES, "{} bytes", e.size());
    let cut = e.cut.expect("cut");
    assert_eq!(e.objects.len() + cut.objects, 5000);
    assert!(!e.objects.is_empty());
}

#[test]
fn the_outcome_follows_the_status() {
    assert_eq!(
        AuditOutcome::of_status(201, Some("x".into())),
        AuditOutcome {
            status: 201,
            result: AuditResult::Ok,
            code: None
        }
    );
    let refused = AuditOutcome::of_status(422, Some("invalid".into()));
    assert_eq!(refused.result, AuditResult::Refused);
    assert_eq!(refused.code.as_deref(), Some("invalid"));
    assert_eq!(
        AuditOutcome::of_status(503, None).result,
        AuditResult::Failed
    );
}

#[test]
fn an_object_filter_matches_exactly_or_by_kind() {
    let e = entry(&["target:web-1", "target:web-2"], vec![]);
    assert!(e.names("target:web-1"));
    assert!(!e.names("target:web"));
    assert!(e.names("target"));
    assert!(e.names("target:"));
    assert!(!e.names("channel"));
}
