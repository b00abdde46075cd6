"""`medalist aws …`: what deploys the pipeline to AWS, generated from the same pipeline.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from medalist.deploy.asl import Compute, state_machine, structure_errors
from medalist.errors import MedalistError

aws_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Deploy to AWS: the state machine (and, coming, the stack) from pipeline.yaml.",
)


@aws_app.command()
def workflow(
    config: Annotated[
        Path | None, typer.Option("-c", "--config", help="pipeline.yaml to use.")
    ] = None,
    compute: Annotated[
        str, typer.Option(help="Where Crawl, Transform and Load run: glue or lambda.")
    ] = "glue",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The Step Functions state machine (Amazon States Language, JSON) of the pipeline,
    generated from the workflow definition the local runner executes."""
    from medalist.cli import _errors, _load, err
    from medalist.workflow.definition import INGEST

    with _errors():
        pipeline = _load(config)
        if compute not in ("glue", "lambda"):
            raise MedalistError(
                f"--compute {compute!r} is not a place states can run",
                fix="Use --compute glue (the default) or --compute lambda.",
            )
        chosen: Compute = "glue" if compute == "glue" else "lambda"
        asl = state_machine(INGEST, pipeline.name, chosen)
        problems = structure_errors(asl)
        if problems:  # a bug of ours, never the user's: say so rather than emit it
            raise MedalistError("generated an invalid state machine: " + "; ".join(problems))
    text = json.dumps(asl, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        err.print(f"Wrote {output} ({len(asl['States'])} states, {chosen} compute).")
