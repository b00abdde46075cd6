"""Who sees what, and who hears of failures: the Athena workgroup, one IAM role per access
role of pipeline.yaml, alarms, and the stack's outputs."""

from __future__ import annotations

from medalist.config import Pipeline
from medalist.deploy.asl import Compute
from medalist.deploy.cfn import ZONES, Json, arn, logical, ref, sub, zone_objects
from medalist.deploy.compute import FUNCTIONS
from medalist.locations import parse_s3


def athena() -> Json:
    return {
        "Workgroup": {
            "Type": "AWS::Athena::WorkGroup",
            "Properties": {
                "Name": sub("${AWS::StackName}"),
                "Description": "Ad-hoc SQL over the zones (what `medalist query` does locally).",
                "State": "ENABLED",
                "WorkGroupConfiguration": {
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "BytesScannedCutoffPerQuery": ref("AthenaBytesScannedCutoff"),
                    "ResultConfiguration": {
                        "OutputLocation": sub("s3://${AthenaBucket}/results/"),
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    },
                },
            },
        }
    }


def access_roles(pipeline: Pipeline) -> Json:
    """One IAM role per role of pipeline.yaml: the zones it may read (the dashboard's rule),
    through Athena in the workgroup; operators may also start executions; uploaders may write
    their datasets' landing prefixes (its `upload:` list, as the upload API allows)."""
    resources: Json = {}
    for name, role in pipeline.access.roles.items():
        zones = tuple(z for z in ZONES if z in role.zone_set)
        statements: list[Json] = []
        if zones:  # a role that reads no zone has nothing to query
            statements += _athena()
            statements += _reads(zones)
        uploads = [d for d in pipeline.datasets if role.may_upload(d)]
        if uploads:
            statements.append(upload_statement(pipeline, uploads))
        if role.operate:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["states:StartExecution"],
                    "Resource": [ref("Workflow"), ref("BatchWorkflow")],
                }
            )
        does = f"reads {', '.join(zones) or 'no zone'}"
        if uploads:
            which = ",".join(uploads) if len(uploads) <= 5 else f"{len(uploads)} datasets"
            does += f"; uploads to landing/{{{which}}}/"
        resources[f"{logical(name)}AccessRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": f"medalist role {name}: {does} (pipeline.yaml access.roles)",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
                            },
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": f"medalist-{name}",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }
                ]
                if statements
                else [],
            },
        }
    return resources


def upload_statement(pipeline: Pipeline, datasets: list[str]) -> Json:
    """Write, and nothing else, under landing/<dataset>/ of each dataset (what the upload API
    allows the same role): PutObject also covers a multipart upload's parts. No read, no list,
    no delete, no staging prefix."""
    prefix = ""
    if pipeline.zones is not None:  # the landing bucket named in pipeline.yaml, its prefix
        root = parse_s3(pipeline.zone_url("landing"))
        prefix = f"{root.prefix}/" if root.prefix else ""
    return {
        "Sid": "UploadToItsLanding",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        "Resource": [sub("${LandingBucket.Arn}/" + f"{prefix}{d}/*") for d in datasets],
    }


def _athena() -> list[Json]:
    return [
        {
            "Effect": "Allow",
            "Action": [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
            "Resource": sub(
                "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:"
                "workgroup/${Workgroup}"
            ),
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": {"Fn::Sub": "${AthenaBucket.Arn}/results/*"},
        },
    ]


def _reads(zones: tuple[str, ...]) -> list[Json]:
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [arn(f"{logical(z)}Bucket") for z in zones] + [arn("AthenaBucket")],
        },
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": zone_objects(zones)},
        {
            "Effect": "Allow",
            "Action": [
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:GetPartitions",
            ],
            "Resource": [
                sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
                sub(
                    "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
                    "database/${Catalog}"
                ),
                *[
                    sub(
                        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
                        "table/${Catalog}/" + zone + "_*"
                    )
                    for zone in zones
                ],
            ],
        },
    ]


def alarms(compute: Compute) -> Json:
    alarms: Json = {
        "FailedRunsAlarm": _alarm(
            "A run's execution failed.",
            "AWS/States",
            "ExecutionsFailed",
            [{"Name": "StateMachineArn", "Value": ref("Workflow")}],
        ),
        "FailedBatchesAlarm": _alarm(
            "A batch of small files failed as a whole (each run's record says why).",
            "AWS/States",
            "ExecutionsFailed",
            [{"Name": "StateMachineArn", "Value": ref("BatchWorkflow")}],
        ),
    }
    for name in FUNCTIONS:
        if name == "State" and compute != "lambda":
            continue
        alarms[f"{name}ErrorsAlarm"] = _alarm(
            f"The {name.lower()} function raised errors.",
            "AWS/Lambda",
            "Errors",
            [{"Name": "FunctionName", "Value": ref(f"{name}Function")}],
        )
    return alarms


def _alarm(description: str, namespace: str, metric: str, dimensions: list[Json]) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref("AlertTopic")],
        },
    }


def outputs(pipeline: Pipeline) -> Json:
    console = "https://${AWS::Region}.console.aws.amazon.com"
    outputs: Json = {
        f"{logical(z)}BucketName": {"Value": ref(f"{logical(z)}Bucket")} for z in ZONES
    }
    outputs |= {
        "RunLogTableName": {"Value": ref("RunLogTable")},
        "AlertTopicArn": {"Value": ref("AlertTopic")},
        "StateMachineArn": {"Value": ref("Workflow")},
        "BatchStateMachineArn": {"Value": ref("BatchWorkflow")},
        "GlueDatabase": {"Value": ref("Catalog")},
        "AthenaWorkgroup": {"Value": ref("Workgroup")},
        "ExecutionsUrl": {
            "Value": sub(
                console + "/states/home?region=${AWS::Region}#/statemachines/view/${Workflow}"
            )
        },
        "LogsUrl": {
            "Value": sub(console + "/cloudwatch/home?region=${AWS::Region}#logsV2:log-groups")
        },
    }
    for name in pipeline.access.roles:
        outputs[f"{logical(name)}RoleArn"] = {"Value": arn(f"{logical(name)}AccessRole")}
    return outputs
