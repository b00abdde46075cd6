"""Diagrams are generated from what deploys: change the definition, the diagram follows."""

from __future__ import annotations

from medalist.deploy.asl import state_machine
from medalist.deploy.diagram import stack_mermaid, workflow_mermaid
from medalist.deploy.template import template
from medalist.workflow.definition import INGEST
from tests.aws.test_template import pipeline


def test_workflow_diagram_has_every_state_and_catch_edge() -> None:
    asl = state_machine(INGEST, "shop", "glue")
    text = workflow_mermaid(asl)
    for name in asl["States"]:
        assert f"  {name}" in text
    for state in INGEST.states:
        assert f"{state.name} -.->|States.ALL| RecordFailure" in text


def test_stack_diagram_wires_what_the_template_wires() -> None:
    text = stack_mermaid(template(pipeline(), "glue"))
    assert "TriggerQueue --> ControllerFunction" in text  # the event source mapping's direction
    assert "LandedRule --- LandingBucket" in text
    assert "SilverBucket --- StateJob" in text  # through the Glue job's role
    assert "FunctionRole" not in text  # roles are plumbing, not nodes
    lambda_text = stack_mermaid(template(pipeline(), "lambda"))
    assert "StateJob" not in lambda_text and "StateFunction" in lambda_text
