"""Diagrams generated from what deploys, never drawn by hand: the state machine's paths, and the
stack's resources with who talks to whom (Mermaid, which GitHub and most doc sites render)."""

from __future__ import annotations

from typing import Any

from medalist.deploy.cfn import Json

# Plumbing a reader of the architecture does not need: it is in the template.
_HIDDEN = {
    "AWS::IAM::Role",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::Logs::LogGroup",
    "AWS::SNS::Subscription",
    "AWS::Lambda::EventSourceMapping",
}
_SERVICE = {  # resource type -> the label's service
    "AWS::S3::Bucket": "S3",
    "AWS::DynamoDB::Table": "DynamoDB",
    "AWS::SNS::Topic": "SNS",
    "AWS::SQS::Queue": "SQS",
    "AWS::Events::Rule": "EventBridge",
    "AWS::Lambda::Function": "Lambda",
    "AWS::StepFunctions::StateMachine": "Step Functions",
    "AWS::Scheduler::Schedule": "Scheduler",
    "AWS::Glue::Database": "Glue catalog",
    "AWS::Glue::Job": "Glue job",
    "AWS::Athena::WorkGroup": "Athena",
    "AWS::CloudWatch::Alarm": "CloudWatch",
}


def workflow_mermaid(asl: Json) -> str:
    """Every state and transition of the state machine; Catch edges dotted."""
    lines = ["flowchart LR"]
    for name, state in asl["States"].items():
        shape = f'(["{name}"])' if state["Type"] in ("Succeed", "Fail") else f'["{name}"]'
        lines.append(f"  {name}{shape}")
    for name, state in asl["States"].items():
        if "Next" in state:
            lines.append(f"  {name} --> {state['Next']}")
        for catch in state.get("Catch", []):
            lines.append(f"  {name} -.->|{', '.join(catch['ErrorEquals'])}| {catch['Next']}")
    return "\n".join(lines) + "\n"


def stack_mermaid(template: Json) -> str:
    """The stack's resources (without roles, policies and log groups), a line between two when
    one refers to the other in its properties (wiring, with no direction), and an arrow where
    the template says which way events flow (queue -> function)."""
    resources: dict[str, Json] = template["Resources"]
    shown = {n for n, r in resources.items() if r["Type"] not in _HIDDEN}
    lines = ["flowchart LR"]
    for name in sorted(shown):
        service = _SERVICE.get(resources[name]["Type"], resources[name]["Type"])
        lines.append(f'  {name}["{service}: {name}"]')
    wired: set[tuple[str, str]] = set()
    for name in sorted(shown):
        targets = _references(resources[name].get("Properties", {}))
        # through its execution role: what the role's policies grant it
        for role in [t for t in targets if resources.get(t, {}).get("Type") == "AWS::IAM::Role"]:
            targets |= _references(resources[role].get("Properties", {}))
        for target in targets:
            if target in shown and target != name:
                wired.add((min(name, target), max(name, target)))
    edges: set[tuple[str, str]] = set()
    # What the hidden plumbing connects: an event source mapping is queue -> function.
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            found = _references(resource["Properties"])
            source = [t for t in found if resources.get(t, {}).get("Type") == "AWS::SQS::Queue"]
            sink = [t for t in found if t in shown and t not in source]
            edges |= {(s, t) for s in source for t in sink}
    lines += [f"  {a} --- {b}" for a, b in sorted(wired - edges - {(b, a) for a, b in edges})]
    lines += [f"  {a} --> {b}" for a, b in sorted(edges)]
    return "\n".join(lines) + "\n"


def _references(value: Any) -> set[str]:
    """Logical ids a value refers to: Ref, Fn::GetAtt, and ${Name} / ${Name.Attr} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub" and isinstance(inner, str):
                found |= {part.split("}")[0].split(".")[0] for part in inner.split("${")[1:]}
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found
