//! The SAM template (`infra/template.yaml`) and the code agree. Checked without AWS or the local
//! stack, by reading the template and the workspace sources:
//!
//! 1. every function built with `rust-cargolambda` names a binary of the workspace (a crate under
//!    `functions/` with `src/main.rs`, or one of its `[[bin]]`s), from a `CodeUri` that is the
//!    workspace root, and every function crate is deployed by the template;
//! 2. the table's partition key, sort key (both strings) and TTL attribute are the ones the
//!    DynamoDB adapter uses (`lookout_aws::dynamodb::{PK, SK, TTL}`);
//! 3. every environment variable the template sets (in `Globals` or on a function) is read by
//!    the code, i.e. appears as the string literal `"NAME"` in `crates/*/src` or
//!    `functions/*/src` (except [`READ_OUTSIDE_THE_CODE`]), and every function gets the variables
//!    the code requires ([`REQUIRED_EVERYWHERE`]);
//! 4. every function runs on arm64 and `provided.al2023`, and a missed probe tick is skipped,
//!    not retried: the probe schedules' targets and the probe function's asynchronous invoke
//!    config have `MaximumRetryAttempts: 0`;
//! 5. every function logs to its own log group `/aws/lambda/<function name>` with a retention;
//! 6. the notify path: only the alert topic sends to the notify queue (raw delivery, alerts
//!    only), the event source mapping reports batch item failures, the queue's visibility
//!    timeout is at least 6 times the function's timeout, failures end in a dead-letter queue
//!    kept 14 days with an alarm on its depth, and the send rights (SES, e-mail topics) exist
//!    only when their parameter is set.
//!
//! CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, `!If` ...) are read as
//! [`serde_norway::Value::Tagged`] values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_norway::Value;

/// Variables the template may set that no Lookout code reads by name: `RUST_LOG` is read by
/// the tracing subscriber (`lambda_runtime::tracing::init_default_subscriber`).
const READ_OUTSIDE_THE_CODE: &[&str] = &["RUST_LOG"];

/// Variables without which the settings or a function's dependencies fail to load
/// (`lookout_app::config::Settings`, `require_topic`, `require_bucket`); the template gives them to
/// every function.
const REQUIRED_EVERYWHERE: &[&str] = &["LOOKOUT_TABLE", "LOOKOUT_TOPIC_ARN", "LOOKOUT_BUCKET"];

/// The workspace root (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The parsed template.
fn template() -> Value {
    let path = root().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// `v[key]` of a mapping (also through a tag: `get` untags), if present.
fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key)
}

/// `v[path[0]][path[1]]...`, if every step is present.
fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| get(v, k))
}

/// The plain string `v`, or `None` for any other value (a tagged `!Ref` is not a string).
fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// The name of an intrinsic function (`Ref`, `Sub`, `GetAtt` ...) and its argument, for both the
/// short tag form `!Ref X` and the long form `{"Ref": X}` / `{"Fn::GetAtt": ...}`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::"))
                .then(|| (k.trim_start_matches("Fn::").to_string(), arg))
        }
        _ => None,
    }
}

/// The logical id `X` of `!Ref X`.
fn ref_target(v: &Value) -> Option<&str> {
    match intrinsic(v)? {
        (f, arg) if f == "Ref" => arg.as_str(),
        _ => None,
    }
}

/// The logical id and attribute of `!GetAtt X.Attr` or `!GetAtt [X, Attr]`.
fn get_att(v: &Value) -> Option<(String, String)> {
    let (f, arg) = intrinsic(v)?;
    if f != "GetAtt" {
        return None;
    }
    match arg {
        Value::String(s) => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_string(), attr.to_string()))
        }
        Value::Sequence(parts) => Some((
            parts.first()?.as_str()?.into(),
            parts.get(1)?.as_str()?.into(),
        )),
        _ => None,
    }
}

/// A string value as written: a plain string, or the template of `!Sub "..."` (so that two
/// `!Sub`s can be compared as text).
fn literal_or_sub(v: &Value) -> Option<String> {
    match intrinsic(v) {
        Some((f, Value::String(s))) if f == "Sub" => Some(s.clone()),
        Some(_) => None,
        None => v.as_str().map(str::to_string),
    }
}

/// The resources of type `ty`, by logical id.
fn resources<'t>(t: &'t Value, ty: &str) -> BTreeMap<&'t str, &'t Value> {
    at(t, &["Resources"])
        .and_then(Value::as_mapping)
        .expect("the template has Resources")
        .iter()
        .filter(|(_, r)| text(get(r, "Type")) == Some(ty))
        .map(|(id, r)| (id.as_str().expect("logical ids are strings"), r))
        .collect()
}

/// The `AWS::Serverless::Function` resources, by logical id.
fn functions(t: &Value) -> BTreeMap<&str, &Value> {
    let fns = resources(t, "AWS::Serverless::Function");
    assert!(
        !fns.is_empty(),
        "the template has no AWS::Serverless::Function"
    );
    fns
}

/// A function property, from the function or else from `Globals.Function`.
fn property<'t>(t: &'t Value, function: &'t Value, name: &str) -> Option<&'t Value> {
    at(function, &["Properties", name]).or_else(|| at(t, &["Globals", "Function", name]))
}

/// The environment variables a function gets: `Globals.Function` merged with its own.
fn environment(t: &Value, function: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for vars in [
        at(t, &["Globals", "Function", "Environment", "Variables"]),
        at(function, &["Properties", "Environment", "Variables"]),
    ]
    .into_iter()
    .flatten()
    {
        let vars = vars
            .as_mapping()
            .expect("Environment.Variables is a mapping");
        names.extend(
            vars.keys()
                .map(|k| k.as_str().expect("variable names are strings").to_string()),
        );
    }
    names
}

/// The `Binary` a function is built from with `rust-cargolambda`, or `None` for another method.
fn binary(function: &Value) -> Option<&str> {
    (text(at(function, &["Metadata", "BuildMethod"])) == Some("rust-cargolambda")).then(|| {
        text(at(function, &["Metadata", "BuildProperties", "Binary"]))
            .expect("a rust-cargolambda function names its BuildProperties.Binary")
    })
}

/// The binaries a crate's manifest and sources define: the package name when `src/main.rs`
/// exists, and every `[[bin]] name`. A small reader of the one or two sections that matter.
fn crate_binaries(dir: &Path) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("reading {}/Cargo.toml: {e}", dir.display()));
    let mut section = String::new();
    let mut bins = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let Some(("name", value)) = line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) else {
            continue;
        };
        let name = value.trim_matches('"').to_string();
        match section.as_str() {
            "[package]" if dir.join("src/main.rs").is_file() => {
                bins.insert(name);
            }
            "[[bin]]" => {
                bins.insert(name);
            }
            _ => {}
        }
    }
    bins
}

/// The crates under `functions/`, by directory name, with their binaries.
fn function_crates() -> BTreeMap<String, BTreeSet<String>> {
    let dir = root().join("functions");
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("functions/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.join("Cargo.toml").is_file() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            crates.insert(name, crate_binaries(&path));
        }
    }
    assert!(!crates.is_empty(), "no crates under {}", dir.display());
    crates
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of the code that reads settings: `crates/*/src/**/*.rs` and `functions/*/src/**/*.rs`.
fn code() -> String {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).expect("crates/") {
        rust_files(&krate.expect("crates/*").path().join("src"), &mut files);
    }
    for krate in function_crates().keys() {
        rust_files(
            &root().join("functions").join(krate).join("src"),
            &mut files,
        );
    }
    assert!(files.len() > 5, "too few sources found: {files:?}");
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The logical id of the function built from `binary`.
fn function_of_binary<'t>(t: &'t Value, bin: &str) -> &'t str {
    functions(t)
        .into_iter()
        .find(|(_, f)| binary(f) == Some(bin))
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no function builds binary {bin:?}"))
}

#[test]
fn every_function_builds_a_workspace_binary_and_every_function_crate_is_deployed() {
    let t = template();
    let crates = function_crates();
    let all_bins: BTreeSet<&String> = crates.values().flatten().collect();
    let mut built = BTreeSet::new();
    for (id, f) in functions(&t) {
        let bin = binary(f).unwrap_or_else(|| panic!("{id} is not built with rust-cargolambda"));
        assert!(
            all_bins.contains(&bin.to_string()),
            "{id} builds binary {bin:?}, which no crate under functions/ defines (binaries: {all_bins:?})"
        );
        let code_uri =
            text(property(&t, f, "CodeUri")).unwrap_or_else(|| panic!("{id} has no CodeUri"));
        let manifest = root().join("infra").join(code_uri).join("Cargo.toml");
        let workspace = std::fs::read_to_string(&manifest).unwrap_or_default();
        assert!(
            workspace.contains("[workspace]"),
            "{id}: CodeUri {code_uri:?} (relative to infra/) is not the workspace root"
        );
        built.insert(bin);
    }
    for (krate, bins) in &crates {
        assert!(
            bins.iter().any(|b| built.contains(b.as_str())),
            "functions/{krate} (binaries {bins:?}) has no function in the template"
        );
    }
}

#[test]
fn the_table_keys_and_ttl_attribute_are_the_ones_the_code_uses() {
    use lookout_aws::dynamodb::{PK, SK, TTL};
    let t = template();
    let tables = resources(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table: {:?}", tables.keys());
    let props = get(tables.values().next().unwrap(), "Properties").expect("table properties");

    let key_of = |kind: &str| {
        get(props, "KeySchema")
            .and_then(Value::as_sequence)
            .expect("KeySchema")
            .iter()
            .find(|k| text(get(k, "KeyType")) == Some(kind))
            .and_then(|k| text(get(k, "AttributeName")))
            .unwrap_or_else(|| panic!("no {kind} key"))
    };
    assert_eq!(key_of("HASH"), PK, "partition key");
    assert_eq!(key_of("RANGE"), SK, "sort key");

    let type_of = |name: &str| {
        get(props, "AttributeDefinitions")
            .and_then(Value::as_sequence)
            .expect("AttributeDefinitions")
            .iter()
            .find(|a| text(get(a, "AttributeName")) == Some(name))
            .and_then(|a| text(get(a, "AttributeType")))
            .unwrap_or_else(|| panic!("{name} has no attribute definition"))
    };
    assert_eq!(type_of(PK), "S", "{PK} is a string");
    assert_eq!(type_of(SK), "S", "{SK} is a string");

    let ttl = get(props, "TimeToLiveSpecification").expect("TimeToLiveSpecification");
    assert_eq!(text(get(ttl, "AttributeName")), Some(TTL), "TTL attribute");
    assert_eq!(
        get(ttl, "Enabled").and_then(Value::as_bool),
        Some(true),
        "TTL enabled"
    );
}

#[test]
fn every_environment_variable_the_template_sets_is_read_by_the_code() {
    let t = template();
    let code = code();
    let mut unread = Vec::new();
    for (id, f) in functions(&t) {
        for name in environment(&t, f) {
            if !READ_OUTSIDE_THE_CODE.contains(&name.as_str())
                && !code.contains(&format!("\"{name}\""))
            {
                unread.push(format!("{id}: {name}"));
            }
        }
    }
    assert!(
        unread.is_empty(),
        "set by the template but read nowhere in crates/*/src or functions/*/src: {unread:?}"
    );
}

#[test]
fn every_function_gets_the_table_topic_and_bucket() {
    let t = template();
    for (id, f) in functions(&t) {
        let env = environment(&t, f);
        for name in REQUIRED_EVERYWHERE {
            assert!(env.contains(*name), "{id} does not get {name}");
        }
    }
}

#[test]
fn every_function_runs_on_arm64_and_provided_al2023() {
    let t = template();
    for (id, f) in functions(&t) {
        let arch: Vec<&str> = property(&t, f, "Architectures")
            .and_then(Value::as_sequence)
            .unwrap_or_else(|| panic!("{id} has no Architectures"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(arch, ["arm64"], "{id} architectures");
        assert_eq!(
            text(property(&t, f, "Runtime")),
            Some("provided.al2023"),
            "{id} runtime"
        );
    }
}

#[test]
fn a_missed_probe_tick_is_skipped_not_retried() {
    let t = template();
    let probe = function_of_binary(&t, "probe");

    let invoke = at(functions(&t)[probe], &["Properties", "EventInvokeConfig"])
        .unwrap_or_else(|| panic!("{probe} has no EventInvokeConfig"));
    assert_eq!(
        get(invoke, "MaximumRetryAttempts").and_then(Value::as_u64),
        Some(0),
        "{probe}: EventInvokeConfig.MaximumRetryAttempts"
    );

    let mut kinds = BTreeSet::new();
    let mut probe_targets = 0;
    for (rule, r) in resources(&t, "AWS::Events::Rule") {
        let targets = at(r, &["Properties", "Targets"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten();
        for target in targets
            .filter(|x| get(x, "Arn").and_then(get_att).map(|(id, _)| id).as_deref() == Some(probe))
        {
            assert_eq!(
                at(target, &["RetryPolicy", "MaximumRetryAttempts"]).and_then(Value::as_u64),
                Some(0),
                "{rule}: the probe target's RetryPolicy.MaximumRetryAttempts"
            );
            probe_targets += 1;
            let input = text(at(target, &["InputTransformer", "InputTemplate"])).unwrap_or("");
            // `{"kinds": ["server", "proxy"], ...}`: both kinds in one invocation.
            let listed = input
                .split_once("\"kinds\": [")
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(list, _)| list);
            for kind in ["server", "proxy"] {
                let quoted = format!("\"{kind}\"");
                if input.contains(&format!("\"kind\": {quoted}"))
                    || listed.is_some_and(|l| l.contains(&quoted))
                {
                    kinds.insert(kind);
                }
            }
        }
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["proxy", "server"]),
        "a probe schedule for each kind"
    );
    assert_eq!(
        probe_targets, 1,
        "one schedule and one invocation a minute for both kinds"
    );
}

#[test]
fn every_function_logs_to_its_own_log_group_with_a_retention() {
    let t = template();
    let groups = resources(&t, "AWS::Logs::LogGroup");
    for (id, f) in functions(&t) {
        let group_id = property(&t, f, "LoggingConfig")
            .and_then(|c| get(c, "LogGroup"))
            .and_then(ref_target)
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup is not a !Ref to a log group"));
        let group = groups.get(group_id).unwrap_or_else(|| {
            panic!("{id} logs to {group_id}, which is not an AWS::Logs::LogGroup")
        });
        let function_name = at(f, &["Properties", "FunctionName"])
            .and_then(literal_or_sub)
            .unwrap_or_else(|| panic!("{id} has no FunctionName"));
        let group_name = at(group, &["Properties", "LogGroupName"]).and_then(literal_or_sub);
        assert_eq!(
            group_name,
            Some(format!("/aws/lambda/{function_name}")),
            "{group_id} is named after {id}"
        );
        assert!(
            at(group, &["Properties", "RetentionInDays"]).is_some(),
            "{group_id} has no RetentionInDays"
        );
    }
}

/// The policy statement `sid` of `function`, if it has one (conditional statements included).
fn statement<'t>(function: &'t Value, sid: &str) -> Option<&'t Value> {
    fn find<'t>(v: &'t Value, sid: &str) -> Option<&'t Value> {
        match v {
            Value::Mapping(m) => {
                if text(get(v, "Sid")) == Some(sid) {
                    return Some(v);
                }
                m.values().find_map(|c| find(c, sid))
            }
            Value::Sequence(s) => s.iter().find_map(|c| find(c, sid)),
            Value::Tagged(t) => find(&t.value, sid),
            _ => None,
        }
    }
    find(at(function, &["Properties", "Policies"])?, sid)
}

#[test]
fn the_functions_that_need_target_secrets_get_the_key_and_the_references_and_no_other_does() {
    let t = template();
    let fns = functions(&t);
    let text_of = |v: &Value| serde_norway::to_string(v).unwrap();
    for id in ["ProbeFunction", "ApiFunction", "NotifyFunction"] {
        assert!(
            environment(&t, fns[id]).contains("LOOKOUT_KMS_KEY_ID"),
            "{id} does not get LOOKOUT_KMS_KEY_ID"
        );
    }
    for (id, prefix) in [
        ("ProbeFunction", "targets"),
        ("ApiFunction", "targets"),
        ("ApiFunction", "channels"),
        ("NotifyFunction", "channels"),
    ] {
        let f = fns[id];
        let refs = text_of(statement(f, "SecretReferences").expect(id));
        assert!(
            !refs.contains("parameter/lookout/*") && !refs.contains("secret:lookout*"),
            "{id} may read every /lookout parameter (the API tokens among them): {refs}"
        );
        for needed in [
            "ssm:GetParameter",
            "secretsmanager:GetSecretValue",
            format!("parameter/lookout/{prefix}/*").as_str(),
            format!("secret:lookout/{prefix}/*").as_str(),
        ] {
            assert!(
                refs.contains(needed),
                "{id} SecretReferences lacks {needed}: {refs}"
            );
        }
    }
    for (id, sid) in [
        ("ProbeFunction", "OpenTargetSecrets"),
        ("NotifyFunction", "OpenChannelSecrets"),
    ] {
        let open = text_of(statement(fns[id], sid).unwrap_or_else(|| panic!("{id}: {sid}")));
        assert!(
            open.contains("kms:Decrypt")
                && !open.contains("GenerateDataKey")
                && open.contains("target-secrets"),
            "{id}: {open}"
        );
    }
    let seal = text_of(statement(fns["ApiFunction"], "SealTargetSecrets").unwrap());
    assert!(
        seal.contains("kms:GenerateDataKey") && seal.contains("kms:Decrypt"),
        "{seal}"
    );
    for (id, f) in &fns {
        if !["ProbeFunction", "ApiFunction", "NotifyFunction"].contains(id) {
            let policies = text_of(at(f, &["Properties", "Policies"]).unwrap_or(&Value::Null));
            assert!(
                !policies.contains("SecretsKey"),
                "{id} needs no secrets key"
            );
            assert!(!environment(&t, f).contains("LOOKOUT_KMS_KEY_ID"), "{id}");
        }
    }
    let key = &resources(&t, "AWS::KMS::Key")["SecretsKey"];
    assert_eq!(text(get(key, "DeletionPolicy")), Some("Retain"));
}

/// The condition under which `sid` is granted: `Some(name)` when its statement is the `then` of
/// an `!If [name, ...]`, `Some("")` when it is granted unconditionally, `None` when absent.
fn statement_condition(function: &Value, sid: &str) -> Option<String> {
    let statements = at(function, &["Properties", "Policies"])?
        .as_sequence()?
        .iter()
        .filter_map(|p| get(p, "Statement").and_then(Value::as_sequence))
        .flatten();
    for st in statements {
        if text(get(st, "Sid")) == Some(sid) {
            return Some(String::new());
        }
        if let Some((f, Value::Sequence(args))) = intrinsic(st) {
            if f == "If" && args.get(1).and_then(|s| text(get(s, "Sid"))) == Some(sid) {
                return args.first().and_then(Value::as_str).map(str::to_string);
            }
        }
    }
    None
}

/// The one resource of type `ty`, with its logical id.
fn only<'t>(t: &'t Value, ty: &str, id: &str) -> &'t Value {
    resources(t, ty)
        .remove(id)
        .unwrap_or_else(|| panic!("no {ty} {id}"))
}

#[test]
fn the_notify_queue_feeds_the_function_in_batches_that_report_their_failures() {
    let t = template();
    let notify = function_of_binary(&t, "notify");
    let mappings = resources(&t, "AWS::Lambda::EventSourceMapping");
    let (_, mapping) = mappings
        .iter()
        .find(|(_, m)| at(m, &["Properties", "FunctionName"]).and_then(ref_target) == Some(notify))
        .unwrap_or_else(|| panic!("no event source mapping invokes {notify}"));
    let props = get(mapping, "Properties").unwrap();
    let (queue_id, attr) = get(props, "EventSourceArn")
        .and_then(get_att)
        .expect("a queue ARN");
    assert_eq!(attr, "Arn");
    let types: Vec<&str> = get(props, "FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .expect("FunctionResponseTypes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);
    let batch = get(props, "BatchSize")
        .and_then(Value::as_u64)
        .unwrap_or(10);
    assert!((1..=10).contains(&batch), "BatchSize {batch}");

    // AWS: "set the source queue's visibility timeout to at least six times the timeout
    // that you configure on your function".
    let queue = only(&t, "AWS::SQS::Queue", &queue_id);
    let timeout = property(&t, functions(&t)[notify], "Timeout")
        .and_then(Value::as_u64)
        .expect("the notify function's Timeout");
    let visibility = at(queue, &["Properties", "VisibilityTimeout"])
        .and_then(Value::as_u64)
        .expect("VisibilityTimeout");
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} s, timeout {timeout} s"
    );

    let redrive = at(queue, &["Properties", "RedrivePolicy"]).expect("RedrivePolicy");
    assert_eq!(
        get(redrive, "maxReceiveCount").and_then(Value::as_u64),
        Some(5)
    );
    let (dlq_id, _) = get(redrive, "deadLetterTargetArn")
        .and_then(get_att)
        .expect("deadLetterTargetArn: !GetAtt <queue>.Arn");
    let dlq = only(&t, "AWS::SQS::Queue", &dlq_id);
    assert_eq!(
        at(dlq, &["Properties", "MessageRetentionPeriod"]).and_then(Value::as_u64),
        Some(14 * 24 * 3600),
        "the dead-letter queue keeps messages 14 days"
    );

    let alarm = resources(&t, "AWS::CloudWatch::Alarm")
        .into_values()
        .find(|a| {
            at(a, &["Properties", "Dimensions"])
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .any(|d| {
                    get(d, "Value").and_then(get_att) == Some((dlq_id.clone(), "QueueName".into()))
                })
        })
        .expect("an alarm on the dead-letter queue");
    let p = get(alarm, "Properties").unwrap();
    assert_eq!(text(get(p, "Namespace")), Some("AWS/SQS"));
    assert_eq!(
        text(get(p, "MetricName")),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(
        text(get(p, "ComparisonOperator")),
        Some("GreaterThanOrEqualToThreshold")
    );
    assert_eq!(get(p, "Threshold").and_then(Value::as_u64), Some(1));
    let actions = get(p, "AlarmActions")
        .and_then(Value::as_sequence)
        .expect("AlarmActions");
    assert!(
        actions.iter().any(|a| ref_target(a) == Some("AlertTopic")),
        "the alarm goes to the alert topic"
    );
}

#[test]
fn only_the_alert_topic_sends_to_the_notify_queue_and_only_alerts_with_raw_delivery() {
    let t = template();
    let text_of = |v: &Value| serde_norway::to_string(v).unwrap();
    let policy = only(&t, "AWS::SQS::QueuePolicy", "NotifyQueuePolicy");
    let statements = at(policy, &["Properties", "PolicyDocument", "Statement"])
        .and_then(Value::as_sequence)
        .expect("statements");
    assert_eq!(statements.len(), 1, "one statement: the topic sends");
    let st = &statements[0];
    assert_eq!(text(get(st, "Effect")), Some("Allow"));
    assert_eq!(
        text(at(st, &["Principal", "Service"])),
        Some("sns.amazonaws.com")
    );
    assert_eq!(text(get(st, "Action")), Some("sqs:SendMessage"));
    assert_eq!(
        at(st, &["Condition", "ArnEquals", "aws:SourceArn"]).and_then(ref_target),
        Some("AlertTopic"),
        "{}",
        text_of(st)
    );

    let sub = only(&t, "AWS::SNS::Subscription", "NotifySubscription");
    let p = get(sub, "Properties").unwrap();
    assert_eq!(get(p, "TopicArn").and_then(ref_target), Some("AlertTopic"));
    assert_eq!(text(get(p, "Protocol")), Some("sqs"));
    assert_eq!(
        get(p, "Endpoint").and_then(get_att),
        Some(("NotifyQueue".into(), "Arn".into()))
    );
    assert_eq!(
        get(p, "RawMessageDelivery").and_then(Value::as_bool),
        Some(true)
    );
    // Alarms publish to the same topic without message attributes; alerts carry `kind`.
    assert_eq!(text(get(p, "FilterPolicyScope")), Some("MessageAttributes"));
    let filter = text_of(get(p, "FilterPolicy").expect("FilterPolicy"));
    assert!(
        filter.contains("kind") && filter.contains("exists: true"),
        "{filter}"
    );
}

#[test]
fn the_notify_function_may_touch_only_what_it_sends_through() {
    let t = template();
    let text_of = |v: &Value| serde_norway::to_string(v).unwrap();
    let fns = functions(&t);
    let notify = fns[function_of_binary(&t, "notify")];
    let table = statement(notify, "TableChannelsDeliveries").expect("table statement");
    let actions: BTreeSet<&str> = get(table, "Action")
        .and_then(Value::as_sequence)
        .expect("actions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query"
        ])
    );
    // The table's ARN (in a stack that is not home, the home table's: the other branch).
    let resource = get(table, "Resource").expect("resource");
    let home = intrinsic(resource)
        .filter(|(f, _)| f == "If")
        .and_then(|(_, arg)| arg.as_sequence()?.get(1))
        .unwrap_or(resource);
    assert_eq!(get_att(home), Some(("Table".into(), "Arn".into())));
    let poll = text_of(statement(notify, "PollNotifyQueue").expect("PollNotifyQueue"));
    assert!(
        poll.contains("NotifyQueue.Arn") && !poll.contains("DeadLetter"),
        "{poll}"
    );

    let all = text_of(at(notify, &["Properties", "Policies"]).unwrap());
    assert!(
        !all.contains("Resource: '*'") && !all.contains("Resource: \"*\""),
        "{all}"
    );
    for forbidden in [
        "dynamodb:Scan",
        "dynamodb:DeleteItem",
        "kms:GenerateDataKey",
        "ssm:PutParameter",
        "parameter/lookout/targets",
        "parameter/lookout/*",
        "s3:",
    ] {
        assert!(
            !all.contains(forbidden),
            "the notify function may {forbidden}: {all}"
        );
    }
    for id in [function_of_binary(&t, "notify"), "ApiFunction"] {
        let f = fns[id];
        assert_eq!(
            statement_condition(f, "SendEmailSes").as_deref(),
            Some("HasSesFrom"),
            "{id}: ses:SendEmail only with SesFrom"
        );
        let ses = text_of(statement(f, "SendEmailSes").unwrap());
        assert!(
            ses.contains("ses:FromAddress") && ses.contains("SesFrom"),
            "{id}: {ses}"
        );
        assert_eq!(
            statement_condition(f, "PublishEmailTopics").as_deref(),
            Some("HasEmailTopics"),
            "{id}: sns:Publish to e-mail topics only with EmailTopicPattern"
        );
        let publish = text_of(statement(f, "PublishEmailTopics").unwrap());
        assert!(publish.contains("${EmailTopicPattern}"), "{id}: {publish}");
        assert!(
            environment(&t, f).contains("LOOKOUT_SES_FROM"),
            "{id}: LOOKOUT_SES_FROM"
        );
    }
}

#[test]
fn the_probe_fans_out_over_its_own_work_queue_with_the_engines_retries_and_cap() {
    let t = template();
    let probe = function_of_binary(&t, "probe");
    let function = functions(&t)[probe];
    let mapping = resources(&t, "AWS::Lambda::EventSourceMapping")
        .into_values()
        .find(|m| at(m, &["Properties", "FunctionName"]).and_then(ref_target) == Some(probe))
        .unwrap_or_else(|| panic!("no event source mapping invokes {probe}"));
    let props = get(mapping, "Properties").unwrap();
    let (queue_id, attr) = get(props, "EventSourceArn")
        .and_then(get_att)
        .expect("a queue ARN");
    assert_eq!(attr, "Arn");
    assert_eq!(get(props, "BatchSize").and_then(Value::as_u64), Some(1));
    let types: Vec<&str> = get(props, "FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .expect("FunctionResponseTypes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);
    let cap = at(props, &["ScalingConfig", "MaximumConcurrency"])
        .and_then(ref_target)
        .expect("MaximumConcurrency from a parameter");
    let parameter = at(&t, &["Parameters", cap]).expect("the concurrency parameter");
    assert_eq!(get(parameter, "Default").and_then(Value::as_u64), Some(20));

    // The function sends to the queue it consumes, and is told its URL.
    let env = at(function, &["Properties", "Environment", "Variables"]).unwrap();
    assert_eq!(
        get(env, "LOOKOUT_PROBE_QUEUE_URL").and_then(ref_target),
        Some(queue_id.as_str())
    );
    assert!(get(env, "LOOKOUT_SHARD_TARGETS").is_some());
    let send = statement(function, "ProbeWorkQueueSend").expect("the send statement");
    assert_eq!(text(get(send, "Action")), Some("sqs:SendMessage"));
    assert_eq!(
        get(send, "Resource").and_then(get_att),
        Some((queue_id.clone(), "Arn".into()))
    );

    // Visibility 6 x the function's timeout (AWS's guidance for an SQS event source).
    let queue = only(&t, "AWS::SQS::Queue", &queue_id);
    let timeout = property(&t, function, "Timeout")
        .and_then(Value::as_u64)
        .expect("the probe function's Timeout");
    let visibility = at(queue, &["Properties", "VisibilityTimeout"])
        .and_then(Value::as_u64)
        .expect("VisibilityTimeout");
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} s, timeout {timeout} s"
    );
    let redrive = at(queue, &["Properties", "RedrivePolicy"]).expect("RedrivePolicy");
    assert_eq!(
        get(redrive, "maxReceiveCount").and_then(Value::as_u64),
        Some(3)
    );
    let (dlq_id, _) = get(redrive, "deadLetterTargetArn")
        .and_then(get_att)
        .expect("deadLetterTargetArn: !GetAtt <queue>.Arn");
    let dlq = only(&t, "AWS::SQS::Queue", &dlq_id);
    assert_eq!(
        at(dlq, &["Properties", "MessageRetentionPeriod"]).and_then(Value::as_u64),
        Some(14 * 24 * 3600)
    );
    let retention = at(queue, &["Properties", "MessageRetentionPeriod"])
        .and_then(Value::as_u64)
        .expect("the work queue's retention");
    assert!(
        retention > 3 * visibility,
        "a task must live through its 3 receives to reach the dead-letter queue"
    );
    let alarmed = resources(&t, "AWS::CloudWatch::Alarm")
        .into_values()
        .any(|a| {
            at(a, &["Properties", "Dimensions"])
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .any(|d| {
                    get(d, "Value").and_then(get_att) == Some((dlq_id.clone(), "QueueName".into()))
                })
        });
    assert!(alarmed, "an alarm on the probe work dead-letter queue");
}

/// Every place `v` names the `Table` resource (`!Ref Table`, `!GetAtt Table.*`, `${Table}` or
/// `${Table.Arn}` in a `!Sub`) that is not inside the first branch of an `!If [IsHome, ...]`,
/// as paths.
fn unguarded_table_uses(v: &Value, path: &str, out: &mut Vec<String>) {
    if let Some((f, arg)) = intrinsic(v) {
        if f == "If" {
            let parts = arg.as_sequence().expect("!If takes a list");
            if parts.first().and_then(Value::as_str) == Some("IsHome") {
                // The home branch may name the table; the other must not.
                if let Some(other) = parts.get(2) {
                    unguarded_table_uses(other, &format!("{path}/!If[else]"), out);
                }
                return;
            }
        }
        let names_table = match f.as_str() {
            "Ref" => arg.as_str() == Some("Table"),
            "GetAtt" => get_att(v).is_some_and(|(id, _)| id == "Table"),
            "Sub" => {
                let template = match arg {
                    Value::Sequence(parts) => parts.first().and_then(Value::as_str),
                    other => other.as_str(),
                };
                template.is_some_and(|s| s.contains("${Table}") || s.contains("${Table."))
            }
            _ => false,
        };
        if names_table {
            out.push(path.to_string());
        }
        unguarded_table_uses(arg, &format!("{path}/!{f}"), out);
        return;
    }
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let key = k.as_str().unwrap_or("?");
                unguarded_table_uses(child, &format!("{path}/{key}"), out);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                unguarded_table_uses(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn only_the_home_location_creates_the_table_and_every_location_has_its_probe_alarm() {
    let t = template();
    // The location parameters, empty by default (one location: the stack works as before).
    for name in [
        "Location",
        "Locations",
        "HomeLocation",
        "TableRegion",
        "TableName",
    ] {
        let p = at(&t, &["Parameters", name]).unwrap_or_else(|| panic!("parameter {name}"));
        assert_eq!(
            text(get(p, "Default")),
            Some(""),
            "{name} defaults to empty"
        );
    }
    // Each is handed to every function under the name the settings read.
    let globals = at(&t, &["Globals", "Function", "Environment", "Variables"]).expect("globals");
    for (var, param) in [
        ("LOOKOUT_LOCATION", "Location"),
        ("LOOKOUT_LOCATIONS", "Locations"),
        ("LOOKOUT_HOME_LOCATION", "HomeLocation"),
        ("LOOKOUT_TABLE_REGION", "TableRegion"),
    ] {
        assert_eq!(
            ref_target(get(globals, var).expect(var)),
            Some(param),
            "{var}"
        );
        assert!(code().contains(&format!("\"{var}\"")), "{var} is read");
    }
    // IsHome: the stack's location is the home one, or there are no locations.
    let is_home = at(&t, &["Conditions", "IsHome"]).expect("condition IsHome");
    let (f, arg) = intrinsic(is_home).expect("IsHome is an intrinsic");
    assert_eq!(f, "Or");
    let arms = format!("{arg:?}");
    for name in ["Locations", "Location", "HomeLocation"] {
        assert!(
            arms.contains(&format!("\"{name}\"")),
            "IsHome names {name}: {arms}"
        );
    }
    // The table is the home stack's; every other use of it is guarded by IsHome, with the
    // home table's name and region (TableName, TableRegion) in the other branch.
    let tables = resources(&t, "AWS::DynamoDB::Table");
    assert_eq!(text(get(tables["Table"], "Condition")), Some("IsHome"));
    let mut unguarded = Vec::new();
    for section in ["Globals", "Resources", "Outputs"] {
        let v = at(&t, &[section]).expect(section);
        if section == "Resources" {
            for (id, r) in v.as_mapping().expect("Resources") {
                if id.as_str() != Some("Table") {
                    unguarded_table_uses(r, id.as_str().unwrap_or("?"), &mut unguarded);
                }
            }
        } else {
            unguarded_table_uses(v, section, &mut unguarded);
        }
    }
    assert!(
        unguarded.is_empty(),
        "the table is named where a stack that is not home has none: {unguarded:?}"
    );
    let table_env = get(globals, "LOOKOUT_TABLE").expect("LOOKOUT_TABLE");
    let (f, arg) = intrinsic(table_env).expect("LOOKOUT_TABLE is an !If");
    assert_eq!(f, "If");
    let parts = arg.as_sequence().unwrap();
    assert_eq!(parts[0].as_str(), Some("IsHome"));
    assert_eq!(ref_target(&parts[2]), Some("TableName"));
    // Policies of a stack that is not home name the home table in its region.
    let probe = functions(&t)["ProbeFunction"];
    let statement = format!(
        "{:?}",
        statement(probe, "TableReadWrite").expect("TableReadWrite")
    );
    assert!(
        statement.contains("${TableRegion}") && statement.contains("table/${TableName}"),
        "{statement}"
    );
    // The topic stays per stack.
    assert!(get(resources(&t, "AWS::SNS::Topic")["AlertTopic"], "Condition").is_none());
    // The probe-not-running alarm, in every location, named after it.
    let alarm = resources(&t, "AWS::CloudWatch::Alarm")["ProbeSilentAlarm"];
    let props = get(alarm, "Properties").unwrap();
    assert!(get(alarm, "Condition").is_none(), "every stack has it");
    for (key, want) in [
        ("MetricName", "Invocations"),
        ("Statistic", "Sum"),
        ("ComparisonOperator", "LessThanThreshold"),
        ("TreatMissingData", "breaching"),
    ] {
        assert_eq!(text(get(props, key)), Some(want), "{key}");
    }
    assert_eq!(get(props, "Period").and_then(Value::as_u64), Some(300));
    assert_eq!(get(props, "Threshold").and_then(Value::as_u64), Some(1));
    assert_eq!(
        ref_target(&at(props, &["Dimensions"]).unwrap()[0]["Value"]),
        Some("ProbeFunction")
    );
    let name = format!("{:?}", get(props, "AlarmName").expect("AlarmName"));
    assert!(
        name.contains("HasLocation") && name.contains("${Location}"),
        "{name}"
    );
}

/// Narratives: the digest function gets every `LOOKOUT_LLM_*` setting and the right to read the
/// one key `LlmApiKey` names; the API function gets whether they are on, the model and the
/// budget (for `GET /v1/digests` and the console), never the key; no other function gets any.
#[test]
fn only_the_digest_function_gets_the_narratives_key_and_the_api_sees_they_are_on() {
    let t = template();
    let fns = functions(&t);
    let digest = function_of_binary(&t, "digest");
    let api = function_of_binary(&t, "api");
    for (id, f) in &fns {
        let env = environment(&t, f);
        let llm: BTreeSet<&str> = env
            .iter()
            .map(String::as_str)
            .filter(|v| v.starts_with("LOOKOUT_LLM_"))
            .collect();
        if *id == digest {
            for v in [
                "LOOKOUT_LLM_BASE_URL",
                "LOOKOUT_LLM_MODEL",
                "LOOKOUT_LLM_API_KEY",
            ] {
                assert!(llm.contains(v), "the digest function lacks {v}");
            }
            let policies = format!("{:?}", at(f, &["Properties", "Policies"]));
            assert!(
                policies.contains("LlmKeyParameter") && policies.contains("LlmKeySecret"),
                "the digest function may not read the narratives' key: {policies}"
            );
        } else if *id == api {
            assert!(
                llm.contains("LOOKOUT_LLM_BASE_URL"),
                "the API cannot tell narratives are on"
            );
            assert!(
                !llm.contains("LOOKOUT_LLM_API_KEY"),
                "the API gets the key's reference"
            );
        } else {
            assert!(llm.is_empty(), "{id} gets {llm:?}");
        }
    }
}
