"""`medalist aws …`: what deploys the pipeline to AWS, generated from the same pipeline.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from medalist.deploy.asl import Compute, state_machine, structure_errors
from medalist.errors import ConfigError, MedalistError

aws_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Deploy to AWS: the stack and the state machine, generated from pipeline.yaml.",
)


ConfigOption = Annotated[Path | None, typer.Option("-c", "--config", help="pipeline.yaml to use.")]
ComputeOption = Annotated[
    str, typer.Option(help="Where Crawl, Transform and Load run: glue or lambda.")
]
DatabaseOption = Annotated[
    str,
    typer.Option(
        help="none (an existing database: -p DestinationSecretArn=…) or aurora (the stack "
        "creates an Aurora PostgreSQL Serverless v2 cluster and its secret)."
    ),
]
OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
]


def _compute(compute: str) -> Compute:
    if compute not in ("glue", "lambda"):
        raise ConfigError(
            f"--compute {compute!r} is not a place states can run",
            fix="Use --compute glue (the default) or --compute lambda.",
        )
    return "glue" if compute == "glue" else "lambda"


def _database(database: str) -> bool:
    if database not in ("none", "aurora"):
        raise ConfigError(
            f"--database {database!r} is not a choice",
            fix="Use --database none (the default) or --database aurora.",
        )
    return database == "aurora"


def _emit(text: str, output: Path | None, what: str) -> None:
    from medalist.cli import err

    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        err.print(f"Wrote {output} ({what}).")


@aws_app.command()
def template(
    config: ConfigOption = None,
    compute: ComputeOption = "glue",
    output: OutputOption = None,
    database: DatabaseOption = "none",
) -> None:
    """The whole stack as one CloudFormation template (YAML): zone buckets, run-log table,
    alert topic, functions, state machine, schedule, Glue, Athena, IAM roles, alarms, and
    optionally an Aurora PostgreSQL Serverless v2 destination."""
    from medalist.cli import _errors, _load
    from medalist.deploy.cfn import to_yaml
    from medalist.deploy.template import template as build

    with _errors():
        stack = build(_load(config), _compute(compute), _database(database))
    text = to_yaml(stack)
    _emit(text, output, f"{len(stack['Resources'])} resources, {compute} compute")


@aws_app.command()
def workflow(
    config: ConfigOption = None, compute: ComputeOption = "glue", output: OutputOption = None
) -> None:
    """The Step Functions state machine (Amazon States Language, JSON) of the pipeline,
    generated from the workflow definition the local runner executes."""
    from medalist.cli import _errors, _load
    from medalist.workflow.definition import INGEST

    with _errors():
        pipeline = _load(config)
        asl = state_machine(INGEST, pipeline.name, _compute(compute))
        problems = structure_errors(asl)
        if problems:  # a bug of ours, never the user's: say so rather than emit it
            raise MedalistError("generated an invalid state machine: " + "; ".join(problems))
    _emit(
        json.dumps(asl, indent=2) + "\n", output, f"{len(asl['States'])} states, {compute} compute"
    )


@aws_app.command()
def estimate(
    daily_gb: Annotated[float, typer.Option(help="GB landing a day.", min=0)],
    files_per_day: Annotated[float, typer.Option(help="Files landing a day.", min=1)],
    config: ConfigOption = None,
    compute: ComputeOption = "glue",
    worker_type: Annotated[str, typer.Option(help="Glue worker type.")] = "G.1X",
    workers: Annotated[int, typer.Option(help="Glue workers per state.", min=2)] = 2,
    athena_tb: Annotated[float, typer.Option(help="TB Athena scans a month.", min=0)] = 0.0,
) -> None:
    """Monthly cost by service at this volume (the seed's cost and data-volume plan), with
    state times measured on this pipeline's own runs."""
    from rich.table import Table

    from medalist.cli import _errors, _load, out
    from medalist.deploy.estimate import Volume
    from medalist.deploy.estimate import estimate as plan
    from medalist.wiring import open_ports

    with _errors():
        pipeline = _load(config)
        kinds = ("G.025X", "G.1X", "G.2X", "G.4X", "G.8X")
        if worker_type not in kinds:
            raise ConfigError(
                f"--worker-type {worker_type!r} is not a Glue worker type",
                fix=f"Use one of {', '.join(kinds)}.",
            )
        volume = Volume(daily_gb, files_per_day, worker_type, workers, athena_tb_month=athena_tb)
        runs = open_ports(pipeline).runlog.list(limit=None)
        result = plan(pipeline, runs, volume, _compute(compute))
    table = Table(title=f"{pipeline.name}: a month on AWS ({compute} compute)")
    for column in ("service", "usage a month", "USD a month"):
        table.add_column(column, justify="right" if column.startswith("USD") else "left")
    for line in result.lines:
        table.add_row(line.service, line.usage, f"{line.monthly_usd:,.2f}")
    table.add_row("total", "", f"{result.total:,.2f}", style="bold")
    out.print(table)
    out.print(f"Prices: {result.region} list prices as of {result.prices_as_of}. Assumptions:")
    for note in result.assumptions:
        out.print(f"  - {note}")


@aws_app.command()
def package(
    config: ConfigOption = None,
    compute: ComputeOption = "glue",
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the artifacts.")
    ] = Path("dist/aws"),
    arch: Annotated[str, typer.Option(help="Lambda architecture: x86_64 or arm64.")] = "x86_64",
    wheelhouse: Annotated[
        Path | None,
        typer.Option(help="Take every wheel from this folder (nothing is downloaded)."),
    ] = None,
) -> None:
    """The deployment artifacts, reproducible (same wheels and pipeline.yaml: the same bytes):
    the functions' zip, the Glue job script and its wheels, or the state function's image.
    Prints their sizes and checks them against Lambda's limits."""
    from rich.table import Table

    from medalist.cli import _errors, _load, err, out
    from medalist.config import resolve_config_path
    from medalist.deploy.package import MB, over_limit
    from medalist.deploy.package import package as build

    with _errors():
        _load(config)  # a pipeline.yaml that does not validate is not packaged
        done = build(
            resolve_config_path(config), output, _compute(compute), arch, wheelhouse, err.print
        )
        problems = over_limit(done)
    table = Table(title=f"{output}: {compute} compute, {arch}")
    for column in ("artifact", "used by", "MB", "MB unzipped", "limit", "fits"):
        table.add_column(column, justify="left" if column in ("artifact", "used by") else "right")
    for a in done.artifacts:
        table.add_row(
            a.name,
            a.used_by,
            f"{a.bytes / MB:,.1f}",
            f"{a.unzipped / MB:,.1f}" if a.unzipped else "",
            f"{a.limit / MB:,.0f}" if a.limit else "",
            ("yes" if a.fits else "NO") if a.limit else "",
        )
    out.print(table)
    for step in done.next_steps:
        out.print(f"  {step}")
    with _errors():
        if problems:
            raise ConfigError(
                "; ".join(problems),
                fix="Use --compute lambda (the state function becomes a container image), "
                "or glue; only the controller and finish functions ship as a zip.",
            )


@aws_app.command()
def deploy(
    stack: Annotated[str, typer.Option(help="CloudFormation stack name, e.g. shop-prod.")],
    artifact_bucket: Annotated[
        str, typer.Option(help="An existing bucket the functions and job script are uploaded to.")
    ],
    artifacts: Annotated[
        Path, typer.Option(help="Folder of artifacts built by `medalist aws package`.")
    ] = Path("dist/aws"),
    config: ConfigOption = None,
    prefix: Annotated[str, typer.Option(help="Key prefix of the artifacts.")] = "medalist/",
    parameter: Annotated[
        list[str] | None,
        typer.Option("--parameter", "-p", help="KEY=VALUE for a template parameter (repeat)."),
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region (default: AWS_REGION).")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="A local AWS endpoint.")] = None,
    database: DatabaseOption = "none",
) -> None:
    """Upload the artifacts, create or update the stack through a change set, follow it with
    progress, and print its outputs (bucket names, topic, dashboard URLs). The compute is the
    one the artifacts were packaged for."""
    from medalist.aws import AwsTarget
    from medalist.cli import _errors, _load, err, out
    from medalist.deploy.cfn import to_yaml
    from medalist.deploy.package import read_manifest
    from medalist.deploy.stack import deploy as run_deploy
    from medalist.deploy.stack import upload
    from medalist.deploy.template import template as build

    with _errors():
        pipeline = _load(config)
        manifest = read_manifest(artifacts)
        compute = _compute(str(manifest["compute"]))
        values = {"ArtifactBucket": artifact_bucket, "ArtifactPrefix": prefix}
        values |= dict(manifest["parameters"])  # type: ignore[call-overload]
        for item in parameter or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"--parameter {item!r} is not KEY=VALUE")
            values[key] = value
        if compute == "lambda" and not values.get("StateImageUri"):
            raise ConfigError(
                "the state function's image is not named",
                fix="Build and push it as `medalist aws package` printed, then pass "
                "-p StateImageUri=ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG",
            )
        target = AwsTarget(region, endpoint_url)
        files = [str(name) for name in manifest["upload"]]  # type: ignore[attr-defined]
        keys = upload(target, artifact_bucket, prefix, artifacts, files)
        err.print(f"Uploaded {len(keys)} artifacts to s3://{artifact_bucket}/{prefix}")
        body = to_yaml(build(pipeline, compute, _database(database)))
        done = run_deploy(target, stack, body, values, progress=err.print)
    out.print(f"{done.stack}: {done.status} ({done.changes} changes)")
    for key, value in sorted(done.outputs.items()):
        out.print(f"  {key:<24} {value}")


@aws_app.command()
def status(
    config: ConfigOption = None,
    stack: Annotated[str | None, typer.Option(help="The deployed stack's name.")] = None,
    state_machine: Annotated[
        str | None, typer.Option(help="The state machine's ARN (instead of --stack).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many recent runs.", min=1)] = 20,
    dataset: Annotated[str | None, typer.Option(help="Only this dataset's runs.")] = None,
) -> None:
    """Recent runs of the deployed pipeline: each run from the run log beside its Step
    Functions execution, and what a disagreement between them means."""
    from rich.table import Table

    from medalist.cli import _errors, _load, out
    from medalist.deploy.status import batch_machine_arn, executions, lines, machine_arn
    from medalist.wiring import open_runlog

    with _errors():
        pipeline = _load(config)
        runs = open_runlog(pipeline)[0].list(dataset=dataset, limit=limit)
        sfn = pipeline.aws_target.client("stepfunctions")
        arn = machine_arn(sfn, stack, state_machine)
        listed = executions(sfn, arn, limit * 2)
        if batches := batch_machine_arn(sfn, arn):
            listed += executions(sfn, batches, limit * 2)
        found = lines(runs, listed)
    table = Table(title=f"{pipeline.name}: the last {len(found)} runs on {arn.split(':')[-1]}")
    for column in ("run", "dataset", "file", "run log", "state", "started", "execution", "note"):
        table.add_column(column, overflow="fold")
    for line in found:
        run = line.run
        table.add_row(
            run.run_id,
            run.dataset,
            run.file,
            run.status.value,
            run.state or "",
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            line.execution_status or "none",
            line.note,
        )
    out.print(table)


@aws_app.command()
def diagram(
    config: ConfigOption = None,
    compute: ComputeOption = "glue",
    what: Annotated[str, typer.Option(help="workflow (the state machine) or stack.")] = "stack",
) -> None:
    """A Mermaid diagram generated from the state machine or the template."""
    from medalist.cli import _errors, _load
    from medalist.deploy.diagram import stack_mermaid, workflow_mermaid
    from medalist.deploy.template import template as build
    from medalist.workflow.definition import INGEST

    with _errors():
        pipeline = _load(config)
        chosen = _compute(compute)
        if what == "workflow":
            text = workflow_mermaid(state_machine(INGEST, pipeline.name, chosen))
        elif what == "stack":
            text = stack_mermaid(build(pipeline, chosen))
        else:
            raise ConfigError(f"--what {what!r} is neither workflow nor stack")
    typer.echo(text, nl=False)
