#!/usr/bin/env python3
"""Create Lookout's AWS resources in the local emulators, idempotently.

Run by `infra/local/stack.sh up` with `.local/venv/bin/python`. Settings come from
infra/local/local.env (or --env-file); a variable already set in the environment
wins over the file. Every endpoint must be set: this script never talks to real AWS.

Creates, or finds and checks:
  * DynamoDB table $LOOKOUT_TABLE: pk (S, HASH) + sk (S, RANGE), PAY_PER_REQUEST,
    GSI `gsi1` on gsi1pk (S, HASH) + gsi1sk (S, RANGE), projection ALL,
    TTL on `expires_at`
  * SNS topic named by $LOOKOUT_TOPIC_ARN (lookout-alerts)
  * when $LOOKOUT_STATUS_TOPIC_ARN is set: the status page's subscriber topic
    (lookout-status; POST /v1/subscriptions subscribes e-mail addresses to it)
  * SQS queue named by $LOOKOUT_ALERT_QUEUE_URL (lookout-alerts-tap), subscribed
    to the topic with protocol sqs and raw delivery OFF, so the SNS envelope
    (Subject, MessageAttributes, ...) reaches the queue
  * when $LOOKOUT_NOTIFY_QUEUE_URL is set: the notify queue (lookout-notify) and its
    dead-letter queue $LOOKOUT_NOTIFY_DLQ_URL (lookout-notify-dlq): visibility timeout
    2 s and RedrivePolicy maxReceiveCount 3 (short, for the local poller and tests;
    the template has 720 s and 5), subscribed to the topic with raw delivery ON and
    the filter policy {"kind": [{"exists": true}]} (alerts only), as in the template
  * when $LOOKOUT_PROBE_QUEUE_URL is set: the probe work queue (lookout-probe-work) of
    shard tasks and its dead-letter queue (lookout-probe-work-dlq): visibility timeout 5 s
    and RedrivePolicy maxReceiveCount 3 (short, so a task a dead `probe --poll` worker held
    comes back quickly; the template has 1800 s and 3)
  * S3 bucket $LOOKOUT_BUCKET
  * when $AWS_ENDPOINT_URL_SSM is set: the SSM SecureString /lookout/llm-api-key, a stand-in
    API key of the narratives' language model (`LOOKOUT_LLM_API_KEY={{ssm:/lookout/llm-api-key}}`)
    for `make demo` and `make dev`, which serve tests/llm/openai_server.py requiring it; kept as
    it is when it exists
  * when $AWS_ENDPOINT_URL_KMS is set: a symmetric KMS key with the alias
    alias/lookout-secrets (for LOOKOUT_KMS_KEY_ID=alias/lookout-secrets; the local
    stack seals with LOOKOUT_SECRETS_KEY by default)

`--table NAME` (repeatable) creates extra tables with the same schema (tests use
this); with `--tables-only` nothing else is touched, so only DynamoDB Local is needed.
Exit status: 0 on success, 1 on any error or on a resource whose shape differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

HERE = Path(__file__).resolve().parent
DEFAULT_ENV_FILE = HERE / "local.env"

GSI_NAME = "gsi1"
TTL_ATTRIBUTE = "expires_at"
KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
GSI_KEY_SCHEMA = [
    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
]
ATTRIBUTES = [
    {"AttributeName": name, "AttributeType": "S"}
    for name in ("pk", "sk", "gsi1pk", "gsi1sk")
]


class SetupError(Exception):
    """A resource exists with a shape other than the one Lookout needs."""


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise SetupError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def load_settings(env_file: Path) -> dict[str, str]:
    settings = read_env_file(env_file)
    for key in list(settings):
        if os.environ.get(key):
            settings[key] = os.environ[key]
    needed = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_S3",
        "LOOKOUT_TABLE",
        "LOOKOUT_TOPIC_ARN",
        "LOOKOUT_BUCKET",
        "LOOKOUT_ALERT_QUEUE_URL",
    ]
    missing = [key for key in needed if not settings.get(key)]
    if missing:
        raise SetupError(f"{env_file}: missing {', '.join(missing)}")
    return settings


def client(settings: dict[str, str], service: str, endpoint_key: str):
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if service == "s3" else None,
    )
    return boto3.client(
        service,
        endpoint_url=settings[endpoint_key],
        region_name=settings["AWS_REGION"],
        aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"],
        config=config,
    )


def report(kind: str, name: str, state: str) -> None:
    print(f"{kind:<16} {name}: {state}", flush=True)


# --- DynamoDB ----------------------------------------------------------------


def _keys(schema) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def check_table_shape(table: dict) -> None:
    name = table["TableName"]
    if _keys(table["KeySchema"]) != _keys(KEY_SCHEMA):
        raise SetupError(f"table {name} exists with key schema {table['KeySchema']}, want pk/sk")
    gsis = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
    gsi = gsis.get(GSI_NAME)
    if gsi is None:
        raise SetupError(f"table {name} exists without global secondary index {GSI_NAME}")
    if _keys(gsi["KeySchema"]) != _keys(GSI_KEY_SCHEMA):
        raise SetupError(f"table {name}: index {GSI_NAME} has key schema {gsi['KeySchema']}")
    if gsi.get("Projection", {}).get("ProjectionType") != "ALL":
        raise SetupError(f"table {name}: index {GSI_NAME} projection is not ALL")


def ensure_table(ddb, name: str) -> None:
    try:
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=ATTRIBUTES,
            KeySchema=KEY_SCHEMA,
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": GSI_NAME,
                    "KeySchema": GSI_KEY_SCHEMA,
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        state = "created"
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceInUseException":
            raise
        state = "found"
    ddb.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    check_table_shape(ddb.describe_table(TableName=name)["Table"])
    report("dynamodb table", name, f"{state} (pk/sk, gsi {GSI_NAME}, PAY_PER_REQUEST)")

    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    status = ttl.get("TimeToLiveStatus")
    attribute = ttl.get("AttributeName")
    if status in ("ENABLED", "ENABLING"):
        if attribute != TTL_ATTRIBUTE:
            raise SetupError(f"table {name}: TTL is on attribute {attribute}, want {TTL_ATTRIBUTE}")
        report("dynamodb ttl", f"{name}.{TTL_ATTRIBUTE}", "found enabled")
    else:
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
        report("dynamodb ttl", f"{name}.{TTL_ATTRIBUTE}", "enabled")


# --- SNS / SQS / S3 ----------------------------------------------------------


def ensure_topic(sns, topic_arn: str) -> str:
    name = topic_arn.rsplit(":", 1)[-1]
    existing = set()
    for page in sns.get_paginator("list_topics").paginate():
        existing.update(t["TopicArn"] for t in page.get("Topics", []))
    arn = sns.create_topic(Name=name)["TopicArn"]  # idempotent
    report("sns topic", arn, "found" if arn in existing else "created")
    if arn != topic_arn:
        raise SetupError(f"the emulator gave topic ARN {arn}, but LOOKOUT_TOPIC_ARN is {topic_arn}")
    return arn


def ensure_queue(sqs, queue_url: str, topic_arn: str) -> tuple[str, str]:
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        state = "found"
    except ClientError as err:
        if "NonExistentQueue" not in err.response["Error"]["Code"]:
            raise
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        state = "created"
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # What real AWS needs for SNS to deliver into the queue; harmless in the emulator.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "lookout-alerts-to-tap",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    report("sqs queue", url, state)
    if url != queue_url:
        raise SetupError(
            f"the emulator gave queue URL {url}, but LOOKOUT_ALERT_QUEUE_URL is {queue_url}"
        )
    return url, arn


def ensure_subscription(sns, topic_arn: str, queue_arn: str) -> None:
    found = None
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            if sub["Protocol"] == "sqs" and sub["Endpoint"] == queue_arn:
                found = sub["SubscriptionArn"]
    if found is None:
        found = sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "false"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        state = "created (raw delivery off)"
    else:
        state = "found"
    attributes = sns.get_subscription_attributes(SubscriptionArn=found)["Attributes"]
    if attributes.get("RawMessageDelivery", "false").lower() == "true":
        sns.set_subscription_attributes(
            SubscriptionArn=found, AttributeName="RawMessageDelivery", AttributeValue="false"
        )
        state += ", raw delivery turned off"
    report("sns subscription", f"{topic_arn} -> {queue_arn}", state)


NOTIFY_VISIBILITY_S = "2"
NOTIFY_MAX_RECEIVES = 3
ALERTS_ONLY = {"kind": [{"exists": True}]}


def _queue(sqs, queue_url: str, setting: str, attributes: dict[str, str]) -> tuple[str, str, str]:
    """The queue of `queue_url`, created with `attributes` or found and given them; (url, arn, state)."""
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        state = "found"
    except ClientError as err:
        if "NonExistentQueue" not in err.response["Error"]["Code"]:
            raise
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        state = "created"
    if url != queue_url:
        raise SetupError(f"the emulator gave queue URL {url}, but {setting} is {queue_url}")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, state


PROBE_WORK_VISIBILITY_S = "5"
PROBE_WORK_MAX_RECEIVES = 3


def ensure_probe_work_queues(sqs, queue_url: str) -> None:
    """The probe's work queue of shard tasks and its dead-letter queue (`<name>-dlq`)."""
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    dlq_url = queue_url.rstrip("/").rsplit("/", 1)[0] + f"/{name}-dlq"
    _, dlq_arn, state = _queue(sqs, dlq_url, "LOOKOUT_PROBE_QUEUE_URL (its -dlq)", {})
    report("sqs queue", dlq_url, f"{state} (dead-letter queue)")
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": PROBE_WORK_MAX_RECEIVES}
    attributes = {
        "VisibilityTimeout": PROBE_WORK_VISIBILITY_S,
        "RedrivePolicy": json.dumps(redrive),
    }
    _, _, state = _queue(sqs, queue_url, "LOOKOUT_PROBE_QUEUE_URL", attributes)
    got = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    if json.loads(got.get("RedrivePolicy", "{}")).get("deadLetterTargetArn") != dlq_arn:
        raise SetupError(f"queue {queue_url}: RedrivePolicy {got.get('RedrivePolicy')} is not to {dlq_arn}")
    report(
        "sqs queue",
        queue_url,
        f"{state} (visibility {PROBE_WORK_VISIBILITY_S} s, {PROBE_WORK_MAX_RECEIVES} receives, then the dead-letter queue)",
    )


def ensure_notify_queues(sqs, sns, queue_url: str, dlq_url: str, topic_arn: str) -> None:
    """The notify queue and its dead-letter queue, subscribed raw with the alerts-only filter."""
    _, dlq_arn, state = _queue(sqs, dlq_url, "LOOKOUT_NOTIFY_DLQ_URL", {})
    report("sqs queue", dlq_url, f"{state} (dead-letter queue)")
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": NOTIFY_MAX_RECEIVES}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "lookout-alerts-to-notify",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    attributes = {
        "VisibilityTimeout": NOTIFY_VISIBILITY_S,
        "RedrivePolicy": json.dumps(redrive),
        "Policy": json.dumps(policy),
    }
    _, arn, state = _queue(sqs, queue_url, "LOOKOUT_NOTIFY_QUEUE_URL", attributes)
    got = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    if json.loads(got.get("RedrivePolicy", "{}")).get("deadLetterTargetArn") != dlq_arn:
        raise SetupError(f"queue {queue_url}: RedrivePolicy {got.get('RedrivePolicy')} is not to {dlq_arn}")
    report(
        "sqs queue",
        queue_url,
        f"{state} (visibility {NOTIFY_VISIBILITY_S} s, {NOTIFY_MAX_RECEIVES} receives, then the dead-letter queue)",
    )

    found = None
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            if sub["Protocol"] == "sqs" and sub["Endpoint"] == arn:
                found = sub["SubscriptionArn"]
    wanted = {
        "RawMessageDelivery": "true",
        "FilterPolicyScope": "MessageAttributes",
        "FilterPolicy": json.dumps(ALERTS_ONLY),
    }
    if found is None:
        found = sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes=wanted,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        state = "created (raw delivery on, alerts only)"
    else:
        state = "found"
        attributes = sns.get_subscription_attributes(SubscriptionArn=found)["Attributes"]
        for name, value in wanted.items():
            have = attributes.get(name, "")
            same = json.loads(have) == ALERTS_ONLY if name == "FilterPolicy" and have else have.lower() == value.lower()
            if not same:
                sns.set_subscription_attributes(
                    SubscriptionArn=found, AttributeName=name, AttributeValue=value
                )
                state += f", {name} set"
    report("sns subscription", f"{topic_arn} -> {arn}", state)


def ensure_bucket(s3, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        report("s3 bucket", bucket, "found")
        return
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    report("s3 bucket", bucket, "created")


KMS_ALIAS = "alias/lookout-secrets"
# The narratives' API key on the local stack (a stand-in: the local server is the only one
# that takes it). The chat client masks in an answer any word of 8 or more characters found in
# the key, so the key shares no such word with the demo's model name or narrative.
LLM_KEY_PARAMETER = "/lookout/llm-api-key"
LLM_LOCAL_KEY = "sk-local-7f3c9a2e41b8d6e0"


def ensure_kms_key(kms, alias: str = KMS_ALIAS) -> str:
    """The key behind `alias`, created (symmetric, ENCRYPT_DECRYPT) with the alias if missing."""
    for page in kms.get_paginator("list_aliases").paginate():
        for entry in page.get("Aliases", []):
            if entry["AliasName"] == alias and entry.get("TargetKeyId"):
                report("kms key", alias, f"found ({entry['TargetKeyId']})")
                return entry["TargetKeyId"]
    key_id = kms.create_key(
        Description="Lookout: seals inline secrets of target definitions (local stack)",
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
    )["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    report("kms key", alias, f"created ({key_id})")
    return key_id


def ensure_llm_key(ssm, name: str = LLM_KEY_PARAMETER) -> None:
    """The SecureString `name`, created with the local stand-in key if missing."""
    try:
        ssm.get_parameter(Name=name, WithDecryption=False)
        report("ssm parameter", name, "found")
        return
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
    ssm.put_parameter(Name=name, Value=LLM_LOCAL_KEY, Type="SecureString",
                      Description="Lookout: the narratives' API key (local stand-in)")
    report("ssm parameter", name, "created (SecureString)")


# --- main --------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--env-file", type=Path, default=DEFAULT_ENV_FILE, help="KEY=VALUE settings file"
    )
    parser.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="NAME",
        help="also create this table with Lookout's schema (repeatable)",
    )
    parser.add_argument(
        "--tables-only",
        action="store_true",
        help="create only the tables named by --table; touch nothing else",
    )
    args = parser.parse_args(argv)
    if args.tables_only and not args.table:
        parser.error("--tables-only needs at least one --table NAME")

    try:
        settings = load_settings(args.env_file)
        ddb = client(settings, "dynamodb", "AWS_ENDPOINT_URL_DYNAMODB")
        tables = [] if args.tables_only else [settings["LOOKOUT_TABLE"]]
        for name in tables + [t for t in args.table if t not in tables]:
            ensure_table(ddb, name)
        if not args.tables_only:
            sns = client(settings, "sns", "AWS_ENDPOINT_URL_SNS")
            sqs = client(settings, "sqs", "AWS_ENDPOINT_URL_SQS")
            s3 = client(settings, "s3", "AWS_ENDPOINT_URL_S3")
            topic_arn = ensure_topic(sns, settings["LOOKOUT_TOPIC_ARN"])
            _, queue_arn = ensure_queue(sqs, settings["LOOKOUT_ALERT_QUEUE_URL"], topic_arn)
            ensure_subscription(sns, topic_arn, queue_arn)
            if settings.get("LOOKOUT_STATUS_TOPIC_ARN"):
                ensure_topic(sns, settings["LOOKOUT_STATUS_TOPIC_ARN"])
            if settings.get("LOOKOUT_NOTIFY_QUEUE_URL"):
                if not settings.get("LOOKOUT_NOTIFY_DLQ_URL"):
                    raise SetupError("LOOKOUT_NOTIFY_QUEUE_URL is set without LOOKOUT_NOTIFY_DLQ_URL")
                ensure_notify_queues(
                    sqs,
                    sns,
                    settings["LOOKOUT_NOTIFY_QUEUE_URL"],
                    settings["LOOKOUT_NOTIFY_DLQ_URL"],
                    topic_arn,
                )
            if settings.get("LOOKOUT_PROBE_QUEUE_URL"):
                ensure_probe_work_queues(sqs, settings["LOOKOUT_PROBE_QUEUE_URL"])
            ensure_bucket(s3, settings["LOOKOUT_BUCKET"], settings["AWS_REGION"])
            if settings.get("AWS_ENDPOINT_URL_SSM"):
                ensure_llm_key(client(settings, "ssm", "AWS_ENDPOINT_URL_SSM"))
            if settings.get("AWS_ENDPOINT_URL_KMS"):
                ensure_kms_key(client(settings, "kms", "AWS_ENDPOINT_URL_KMS"))
    except (SetupError, ClientError, BotoCoreError, OSError) as err:
        print(f"lookout: create_resources: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
