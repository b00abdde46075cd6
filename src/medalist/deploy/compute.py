"""The stack's compute: the functions, the state machine, the daily sweep, the Glue job."""

from __future__ import annotations

import json

from medalist.config import Pipeline
from medalist.deploy import database as db
from medalist.deploy.asl import Compute, batch_machine, state_machine
from medalist.deploy.cfn import (
    BATCH_MACHINE_ARN,
    STATE_MACHINE_ARN,
    ZONES,
    Json,
    arn,
    logical,
    ref,
    role,
    sub,
    zone_objects,
)
from medalist.locations import parse_glue
from medalist.workflow.definition import INGEST

LAMBDA_PYTHON = "3.12"
LAMBDA_RUNTIME = f"python{LAMBDA_PYTHON}"
GLUE_PYTHON = "3.11"  # what Glue 5 runs


GLUE_VERSION = "5.0"  # Spark 3.5, Python 3.11, Java 17: the oldest Glue that runs medalist


FUNCTIONS = {  # name -> (handler, timeout s, memory MB, what it does)
    "Controller": ("medalist.aws_handlers.controller", 900, 1024, "match, claim, start runs"),
    "State": ("medalist.aws_handlers.run_state", 900, 4096, "run one state of one run"),
    "Finish": ("medalist.aws_handlers.finish", 120, 512, "record a run's outcome"),
}


def functions(compute: Compute, database: bool = False) -> Json:
    resources: Json = {}
    for name, (handler, timeout, memory, purpose) in FUNCTIONS.items():
        if name == "State" and compute != "lambda":
            continue
        function_name = sub("${AWS::StackName}-" + name.lower())
        resources[f"{name}Logs"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws/lambda/${AWS::StackName}-" + name.lower()),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        }
        properties: Json = {
            "FunctionName": function_name,
            "Description": f"medalist: {purpose}",
            "Architectures": [ref("FunctionArchitecture")],
            "Timeout": timeout,
            "MemorySize": memory,
            "EphemeralStorage": {"Size": 10240 if name == "State" else 512},
            "Role": arn("FunctionRole"),
            "Environment": {"Variables": _environment(database)},
            "TracingConfig": {"Mode": {"Fn::If": ["Tracing", "Active", "PassThrough"]}},
        }
        if name == "State" and database:  # Load reaches the private cluster
            properties["VpcConfig"] = db.vpc_config()
        if name == "State":  # medalist with DuckDB and Arrow: over 250 MB, an image (0035)
            properties |= {
                "PackageType": "Image",
                "Code": {"ImageUri": ref("StateImageUri")},
                "ImageConfig": {"Command": [handler]},
            }
        else:  # the slim zip: no engine on these paths
            properties |= {
                "Runtime": LAMBDA_RUNTIME,
                "Handler": handler,
                "Code": {
                    "S3Bucket": ref("ArtifactBucket"),
                    "S3Key": sub("${ArtifactPrefix}${FunctionsCode}"),
                },
            }
        resources[f"{name}Function"] = {
            "Type": "AWS::Lambda::Function",
            "DependsOn": [f"{name}Logs"],
            "Properties": properties,
        }
    resources["FunctionRole"] = role(
        "lambda.amazonaws.com",
        [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            *([db.VPC_ACCESS] if database and compute == "lambda" else []),
        ],
        [
            *_worker_statements(database),
            {
                "Effect": "Allow",
                "Action": ["states:StartExecution"],
                # by name: a Ref would make a dependency cycle
                "Resource": [STATE_MACHINE_ARN, BATCH_MACHINE_ARN],
            },
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": arn("TriggerQueue"),
            },
        ],
    )
    return resources


def _environment(database: bool) -> Json:
    return {
        "MEDALIST_CONFIG": "pipeline.yaml",  # packaged beside the code
        "MEDALIST_RUNLOG_TABLE": ref("RunLogTable"),
        "MEDALIST_ALERT_TOPIC": ref("AlertTopic"),
        "MEDALIST_DESTINATION_SECRET": db.secret_ref(database),
        "MEDALIST_STATE_MACHINE": STATE_MACHINE_ARN,
        "MEDALIST_BATCH_STATE_MACHINE": BATCH_MACHINE_ARN,
    }


def _worker_statements(database: bool = False) -> list[Json]:
    """What the states need: every zone, the run log, the catalog, the destination secret."""
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [arn(f"{logical(z)}Bucket") for z in ZONES],
        },
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            "Resource": zone_objects(ZONES),
        },
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
            ],
            "Resource": [arn("RunLogTable"), {"Fn::Sub": "${RunLogTable.Arn}/index/*"}],
        },
        {
            "Effect": "Allow",
            "Action": [
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:GetTableVersions",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:GetPartitions",
                "glue:BatchCreatePartition",
                "glue:BatchDeletePartition",
            ],
            "Resource": [
                sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
                sub(
                    "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/${Catalog}"
                ),
                sub(
                    "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${Catalog}/*"
                ),
            ],
        },
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ref("AlertTopic")},
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": ref("DatabaseSecret"),
        }
        if database
        else {
            "Fn::If": [
                "HasDestinationSecret",
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": ref("DestinationSecretArn"),
                },
                {"Ref": "AWS::NoValue"},
            ]
        },
    ]


def workflow(pipeline: Pipeline, compute: Compute) -> Json:
    substitutions: Json = {
        "FinishFunctionArn": arn("FinishFunction"),
        "AlertTopicArn": ref("AlertTopic"),
    }
    if compute == "lambda":
        substitutions["StateFunctionArn"] = arn("StateFunction")
        runs = {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [arn("StateFunction"), arn("FinishFunction")],
        }
        glue_rights: list[Json] = []
    else:
        substitutions["StateJobName"] = ref("StateJob")
        runs = {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [arn("FinishFunction")],
        }
        glue_rights = [
            {
                "Effect": "Allow",
                "Action": [
                    "glue:StartJobRun",
                    "glue:GetJobRun",
                    "glue:GetJobRuns",
                    "glue:BatchStopJobRun",
                ],
                "Resource": sub(
                    "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/${StateJob}"
                ),
            }
        ]
    statements = [
        runs,
        *glue_rights,
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ref("AlertTopic")},
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "Resource": "*",  # log delivery actions take no resource (AWS documents "*")
        },
        {
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",  # X-Ray takes no resource
        },
    ]
    machines = {
        "Workflow": ("ingest", state_machine(INGEST, pipeline.name, compute)),
        "BatchWorkflow": ("batch", batch_machine(pipeline.name, compute)),
    }
    resources: Json = {"WorkflowRole": role("states.amazonaws.com", [], statements)}
    for name, (suffix, definition) in machines.items():
        resources[f"{name}Logs"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{suffix}"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        }
        resources[name] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": sub(f"${{AWS::StackName}}-{suffix}"),
                "StateMachineType": "STANDARD",
                "DefinitionString": json.dumps(definition),
                "DefinitionSubstitutions": substitutions,
                "RoleArn": arn("WorkflowRole"),
                "LoggingConfiguration": {
                    "Level": "ALL",
                    "IncludeExecutionData": False,  # rows never reach the logs
                    "Destinations": [
                        {"CloudWatchLogsLogGroup": {"LogGroupArn": arn(f"{name}Logs")}}
                    ],
                },
                "TracingConfiguration": {"Enabled": {"Fn::If": ["Tracing", True, False]}},
            },
        }
    return resources


def schedule(pipeline: Pipeline) -> Json:
    """The daily sweep (the seed's "submit incoming files periodically"): files whose event was
    lost, runs whose owner died. The pipeline's own cron when it has one."""
    cron = pipeline.trigger.schedule or "0 3 * * *"
    return {
        "SweepRole": role(
            "scheduler.amazonaws.com",
            [],
            [
                {
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunction"],
                    "Resource": arn("ControllerFunction"),
                }
            ],
        ),
        "SweepSchedule": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Description": "Sweep landing for missed files and resume orphaned runs.",
                "ScheduleExpression": f"cron({eventbridge_cron(cron)})",
                "ScheduleExpressionTimezone": pipeline.trigger.timezone,
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": arn("ControllerFunction"),
                    "RoleArn": arn("SweepRole"),
                    "Input": json.dumps({"sweep": True}),
                },
            },
        },
    }


def eventbridge_cron(cron: str) -> str:
    """A five-field cron as EventBridge's six fields: one of day-of-month and day-of-week is
    `?`, days of the week count from 1 (Sunday), and a year field follows."""
    minute, hour, dom, month, dow = cron.split()
    if dow == "*":
        dow = "?"
    else:
        dom = "?" if dom == "*" else dom
        dow = "".join(
            str(int(tok) % 7 + 1) if tok.isdigit() else tok for tok in _split_keep(dow, ",-/")
        )
    return f"{minute} {hour} {dom} {month} {dow} *"


def _split_keep(text: str, separators: str) -> list[str]:
    parts, token = [], ""
    for char in text:
        if char in separators:
            parts += [token, char]
            token = ""
        else:
            token += char
    return [*parts, token]


def glue(pipeline: Pipeline, compute: Compute, database: bool = False) -> Json:
    resources: Json = {
        "Catalog": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": ref("AWS::AccountId"),
                "DatabaseInput": {
                    "Name": parse_glue(pipeline.catalog)
                    if pipeline.catalog
                    else pipeline.name.replace("-", "_"),
                    "Description": f"medalist pipeline {pipeline.name}: silver, gold, quarantine "
                    "tables (kept by the run's catalog adapter)",
                },
            },
        }
    }
    if compute != "glue":
        return resources
    resources["GlueRole"] = role(
        "glue.amazonaws.com",
        ["arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"],
        [
            *_worker_statements(database),
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/${ArtifactPrefix}*"),
            },
        ],
    )
    resources["StateJob"] = {
        "Type": "AWS::Glue::Job",
        "Properties": {
            "Name": sub("${AWS::StackName}-state"),
            "Description": "medalist: run one state of one run (the job script on the driver)",
            "Role": arn("GlueRole"),
            "GlueVersion": GLUE_VERSION,
            "Command": {
                "Name": "glueetl",
                "PythonVersion": "3",
                "ScriptLocation": sub("s3://${ArtifactBucket}/${ArtifactPrefix}glue_job.py"),
            },
            "WorkerType": ref("GlueWorkerType"),
            "NumberOfWorkers": ref("GlueWorkers"),
            "ExecutionProperty": {"MaxConcurrentRuns": 50},
            **({"Connections": {"Connections": [ref("DatabaseNetwork")]}} if database else {}),
            "MaxRetries": 0,  # the state machine's Retry decides
            "DefaultArguments": {
                # Glue 5's "zip of wheels": every wheel, nothing fetched at start (0035).
                "--additional-python-modules": sub(
                    "s3://${ArtifactBucket}/${ArtifactPrefix}${GlueWheels}"
                ),
                "--python-modules-installer-option": "--no-index",
                "--extra-files": sub("s3://${ArtifactBucket}/${ArtifactPrefix}pipeline.yaml"),
                "--enable-metrics": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--MEDALIST_RUNLOG_TABLE": ref("RunLogTable"),
                "--MEDALIST_ALERT_TOPIC": ref("AlertTopic"),
            },
        },
    }
    return resources
