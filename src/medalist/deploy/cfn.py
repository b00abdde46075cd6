"""CloudFormation building blocks: intrinsic functions, IAM roles, YAML CloudFormation accepts."""

from __future__ import annotations

from typing import Any

import yaml

Json = dict[str, Any]
ZONES = ("landing", "silver", "gold", "quarantine")


STATE_MACHINE_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
    "${AWS::StackName}-ingest"
}
BATCH_MACHINE_ARN = {  # a burst of small files, one execution per batch (decision 0049)
    "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
    "${AWS::StackName}-batch"
}


class _NoAliases(yaml.SafeDumper):
    """CloudFormation refuses YAML aliases, which PyYAML writes for a dict used twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(stack: Json) -> str:
    return yaml.dump(stack, Dumper=_NoAliases, sort_keys=False, width=100)


def ref(name: str) -> Json:
    return {"Ref": name}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def arn(name: str) -> Json:
    return {"Fn::GetAtt": [name, "Arn"]}


def logical(name: str) -> str:
    """A CloudFormation logical id from a snake_case name: analyst -> Analyst."""
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def zone_objects(zones: tuple[str, ...]) -> list[Json]:
    return [{"Fn::Sub": "${" + f"{logical(z)}Bucket" + ".Arn}/*"} for z in zones]


def role(service: str, managed: list[str], statements: list[Json]) -> Json:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": managed,
            "Policies": [
                {
                    "PolicyName": "medalist",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }
