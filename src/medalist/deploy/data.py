"""The stack's data resources: zone buckets, the run-log table, the alert topic, the queue that
turns landing's object-created events into controller invocations."""

from __future__ import annotations

from typing import Any

from medalist.config import Pipeline
from medalist.deploy.cfn import ZONES, Json, arn, logical, ref, sub
from medalist.errors import ConfigError
from medalist.locations import is_s3, parse_dynamodb, parse_s3
from medalist.runlog.dynamo_table import TTL_ATTRIBUTE, table_definition


def _bucket_name(pipeline: Pipeline, zone: str) -> Json | str:
    """The bucket pipeline.yaml names for the zone, so the deployed functions find what the stack
    made; generated names for a pipeline still on a local lake."""
    if pipeline.zones is not None and zone != "athena":
        return parse_s3(pipeline.zone_url(zone)).bucket
    return sub("${AWS::StackName}-${AWS::AccountId}-" + zone)


def check_layout(pipeline: Pipeline) -> None:
    """The stack makes a bucket per zone (IAM then grants per bucket, as the seed does)."""
    if is_s3(pipeline.lake) and pipeline.zones is None:
        raise ConfigError(
            f"lake: {pipeline.lake} puts every zone in one bucket; the stack makes a bucket per "
            "zone so that IAM can grant each role its zones",
            fix="Name a bucket per zone under zones: (landing, silver, gold, quarantine); "
            "docs/aws.md shows the layout.",
        )


def buckets(pipeline: Pipeline) -> Json:
    check_layout(pipeline)
    resources: Json = {}
    for zone in (*ZONES, "athena"):
        name = f"{logical(zone)}Bucket"
        bucket: Json = {
            "BucketName": _bucket_name(pipeline, zone),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        }
        rules = _lifecycle(zone)
        if rules:
            bucket["LifecycleConfiguration"] = {"Rules": rules}
        if zone == "landing":  # object-created events go to EventBridge, then the queue
            bucket["NotificationConfiguration"] = {
                "EventBridgeConfiguration": {"EventBridgeEnabled": True}
            }
        resources[name] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": bucket,
        }
        resources[f"{name}Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref(name),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn(name), {"Fn::Sub": "${" + name + ".Arn}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        }
    return resources


def _lifecycle(zone: str) -> list[Json]:
    old_versions = {"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
    if zone == "landing":
        return [
            {
                "Id": "LandingAges",
                "Status": "Enabled",
                "Transitions": [
                    {
                        "StorageClass": "STANDARD_IA",
                        "TransitionInDays": ref("LandingInfrequentAccessDays"),
                    }
                ],
                "ExpirationInDays": ref("LandingExpireDays"),
                **old_versions,
            }
        ]
    if zone == "quarantine":
        rule = {"Id": "QuarantineExpires", "Status": "Enabled"}
        return [rule | {"ExpirationInDays": ref("QuarantineExpireDays")} | old_versions]
    if zone == "athena":
        return [{"Id": "ResultsExpire", "Status": "Enabled", "ExpirationInDays": 30}]
    # silver and gold: superseded versions of published objects, and abandoned uploads
    return [
        {
            "Id": "OldVersionsAndUploads",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
            **old_versions,
        }
    ]


def run_log(pipeline: Pipeline) -> Json:
    """The run-log table: the definition the DynamoDB adapter creates when it is missing."""
    table: Any = sub("${AWS::StackName}-runs")
    if pipeline.runlog is not None:
        table = parse_dynamodb(pipeline.runlog)
    return {
        "RunLogTable": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "TableName": table,
                **table_definition(),
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        }
    }


def _topic_name(pipeline: Pipeline) -> Json | str:
    for channel in pipeline.notifications:
        arn_text = getattr(channel, "topic_arn", None)
        if arn_text:
            return str(arn_text).rsplit(":", 1)[-1]
    return sub("${AWS::StackName}-alerts")


def alerts(pipeline: Pipeline) -> Json:
    return {
        "AlertTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": _topic_name(pipeline),
                "KmsMasterKeyId": "alias/aws/sns",
            },
        },
        "AlertEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlertEmail",
            "Properties": {
                "TopicArn": ref("AlertTopic"),
                "Protocol": "email",
                "Endpoint": ref("AlertEmail"),
            },
        },
    }


def trigger_queue() -> Json:
    """Landing's object-created events → EventBridge rule → SQS (batching, retries, a dead-letter
    queue) → the controller function."""
    return {
        "TriggerDeadLetters": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        "TriggerQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 960,  # above the controller's 900 s timeout
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": arn("TriggerDeadLetters"),
                    "maxReceiveCount": 5,
                },
            },
        },
        "TriggerQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [ref("TriggerQueue")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arn("TriggerQueue"),
                            "Condition": {"ArnEquals": {"aws:SourceArn": arn("LandedRule")}},
                        }
                    ],
                },
            },
        },
        "LandedRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "A file landed: start its run.",
                "EventPattern": {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {"bucket": {"name": [ref("LandingBucket")]}},
                },
                "Targets": [{"Arn": arn("TriggerQueue"), "Id": "TriggerQueue"}],
            },
        },
        "TriggerMapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": arn("TriggerQueue"),
                "FunctionName": ref("ControllerFunction"),
                "BatchSize": 100,
                "MaximumBatchingWindowInSeconds": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        },
    }
