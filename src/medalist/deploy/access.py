"""Who sees what, and who hears of failures: the Athena workgroup, one IAM role per access
role of pipeline.yaml, alarms, and the stack's outputs."""

from __future__ import annotations

from medalist.config import Pipeline
from medalist.deploy.asl import Compute
from medalist.deploy.cfn import ZONES, Json, arn, logical, ref, sub, zone_objects
from medalist.deploy.compute import FUNCTIONS


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
    through Athena in the workgroup; operators may also start executions."""
    resources: Json = {}
    for name, role in pipeline.access.roles.items():
        zones = tuple(z for z in ZONES if z in role.zone_set)
        statements: list[Json] = [
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
        if zones:
            statements += [
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
        if role.operate:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["states:StartExecution"],
                    "Resource": ref("Workflow"),
                }
            )
        resources[f"{logical(name)}AccessRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": f"medalist role {name}: reads "
                f"{', '.join(zones) or 'no zone'} (pipeline.yaml access.roles)",
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
                ],
            },
        }
    return resources


def alarms(compute: Compute) -> Json:
    alarms: Json = {
        "FailedRunsAlarm": _alarm(
            "A run's execution failed.",
            "AWS/States",
            "ExecutionsFailed",
            [{"Name": "StateMachineArn", "Value": ref("Workflow")}],
        )
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
