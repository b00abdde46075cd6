"""The optional destination database: an Aurora PostgreSQL Serverless v2 cluster with its secret
(`medalist aws template|deploy --database aurora`), or an existing database's secret
(`-p DestinationSecretArn=…`, the default template).

The secret is created first with a generated password; once the cluster exists, an attachment
adds its host, port and database name, so pipeline.yaml can name everything through it:
`postgresql://${aws-secret:STACK/destination#username}:${aws-secret:STACK/destination#password}
@${aws-secret:STACK/destination#host}:5432/DBNAME`. The cluster is private: the state function
(compute lambda) and the Glue job (compute glue) join its subnets and security groups.
"""

from __future__ import annotations

import json

from medalist.config import Pipeline
from medalist.deploy.cfn import Json, ref, sub

AURORA_ENGINE = "aurora-postgresql"
AURORA_VERSION = "17.7"
VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
SECRET_NAME = "${AWS::StackName}/destination"


def parameters() -> Json:
    return {
        "DatabaseSubnetIds": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Private subnets (two AZs at least) for the cluster, the state "
            "function and the Glue job.",
        },
        "DatabaseSecurityGroupIds": {
            "Type": "List<AWS::EC2::SecurityGroup::Id>",
            "Description": "Security groups letting the state function and job reach port 5432.",
        },
        "DatabaseMaxCapacity": {
            "Type": "Number",
            "Default": 4,
            "MinValue": 1,
            "MaxValue": 256,
            "Description": "Aurora capacity units at most (the minimum is 0.5).",
        },
    }


def secret_ref(created: bool) -> Json:
    """The destination's secret: the one created here, or the given ARN."""
    return ref("DatabaseSecret") if created else ref("DestinationSecretArn")


def vpc_config() -> Json:
    return {
        "SubnetIds": ref("DatabaseSubnetIds"),
        "SecurityGroupIds": ref("DatabaseSecurityGroupIds"),
    }


def resources(pipeline: Pipeline) -> Json:
    dbname = pipeline.name.replace("-", "_")
    resolve = "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:%s}}"
    return {
        "DatabaseSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": sub(SECRET_NAME),
                "Description": f"medalist {pipeline.name}: the destination's login, host, port",
                "GenerateSecretString": {
                    "SecretStringTemplate": json.dumps({"username": "medalist"}),
                    "GenerateStringKey": "password",
                    "PasswordLength": 32,
                    "ExcludeCharacters": "\"'@/\\:?#[]%& ",  # safe inside a URL
                },
            },
        },
        "DatabaseSubnets": {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {
                "DBSubnetGroupDescription": f"medalist {pipeline.name} destination",
                "SubnetIds": ref("DatabaseSubnetIds"),
            },
        },
        "DatabaseCluster": {
            "Type": "AWS::RDS::DBCluster",
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
            "Properties": {
                "Engine": AURORA_ENGINE,
                "EngineVersion": AURORA_VERSION,
                "DatabaseName": dbname,
                "MasterUsername": sub(resolve % "username"),
                "MasterUserPassword": sub(resolve % "password"),
                "DBSubnetGroupName": ref("DatabaseSubnets"),
                "VpcSecurityGroupIds": ref("DatabaseSecurityGroupIds"),
                "StorageEncrypted": True,
                "BackupRetentionPeriod": 7,
                "CopyTagsToSnapshot": True,
                "DeletionProtection": True,
                "ServerlessV2ScalingConfiguration": {
                    "MinCapacity": 0.5,
                    "MaxCapacity": ref("DatabaseMaxCapacity"),
                },
            },
        },
        "DatabaseInstance": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "DBClusterIdentifier": ref("DatabaseCluster"),
                "DBInstanceClass": "db.serverless",
                "Engine": AURORA_ENGINE,
                "PubliclyAccessible": False,
            },
        },
        "DatabaseSecretAttachment": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {
                "SecretId": ref("DatabaseSecret"),
                "TargetId": ref("DatabaseCluster"),
                "TargetType": "AWS::RDS::DBCluster",
            },
        },
    }


def glue_connection() -> Json:
    """The Glue job's way into the cluster's subnets (compute glue)."""
    return {
        "DatabaseNetwork": {
            "Type": "AWS::Glue::Connection",
            "Properties": {
                "CatalogId": ref("AWS::AccountId"),
                "ConnectionInput": {
                    "Name": sub("${AWS::StackName}-database"),
                    "ConnectionType": "NETWORK",
                    "ConnectionProperties": {},
                    "PhysicalConnectionRequirements": {
                        "SubnetId": {"Fn::Select": [0, ref("DatabaseSubnetIds")]},
                        "SecurityGroupIdList": ref("DatabaseSecurityGroupIds"),
                    },
                },
            },
        }
    }


def outputs() -> Json:
    return {
        "DatabaseSecretName": {"Value": sub(SECRET_NAME)},
        "DatabaseEndpoint": {
            "Value": {"Fn::GetAtt": ["DatabaseCluster", "Endpoint.Address"]},
        },
    }
