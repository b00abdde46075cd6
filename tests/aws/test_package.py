"""`medalist aws package`: the artifacts a deployment uploads, byte-identical from the same
inputs, sized and checked against Lambda's limits. Wheels come from a local wheelhouse of
stand-ins (tests/aws/wheelhouse.py): nothing is downloaded here. The real sizes, measured with
the real wheels, are in docs/aws.md."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medalist.cli import app
from medalist.deploy.package import IMAGE_LIMIT, MB, ZIP_LIMIT, Artifact, Packaged, over_limit
from tests.aws.wheelhouse import fake_wheelhouse

HEAVY = ("duckdb/", "pyarrow/", "numpy/", "psycopg/", "connectorx/", "fastapi/", "s3fs/")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Both computes packaged once, through the CLI, into their own folders."""
    root = tmp_path_factory.mktemp("package")
    wheelhouse = fake_wheelhouse(root / "wheelhouse")
    CliRunner().invoke(app, ["init", str(root / "shop")])
    config = str(root / "shop" / "pipeline.yaml")
    found = {}
    for compute in ("glue", "lambda"):
        out = root / compute
        result = CliRunner().invoke(
            app,
            ["aws", "package", "-c", config, "--compute", compute, "-o", str(out),
             "--wheelhouse", str(wheelhouse)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        found[compute] = (out, result.output)
    return found


def _manifest(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((folder / "manifest.json").read_text())
    return loaded


def _controller(folder: Path) -> Path:
    (path,) = folder.glob("controller-*.zip")
    return path


def test_two_builds_of_the_functions_zip_are_the_same_bytes(
    built: dict[str, tuple[Path, str]],
) -> None:
    glue, lam = _controller(built["glue"][0]), _controller(built["lambda"][0])
    assert glue.name == lam.name  # named by content
    assert glue.read_bytes() == lam.read_bytes()  # two pip installs, two folders, later


def test_the_functions_zip_holds_medalist_its_slim_dependencies_and_the_pipeline(
    built: dict[str, tuple[Path, str]],
) -> None:
    with zipfile.ZipFile(_controller(built["glue"][0])) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert archive.read("pipeline.yaml").startswith(b"# medalist pipeline") or b"name:" in (
            archive.read("pipeline.yaml")
        )
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert "medalist/aws_handlers.py" in names and "medalist/deploy/prices.json" in names
    assert any(n.startswith("medalist-0.1.0.dist-info/entry_points.txt") for n in names)
    for slim in ("pydantic/", "yaml/", "ulid/"):
        assert any(n.startswith(slim) for n in names), slim
    for heavy in (*HEAVY, "boto3/"):  # boto3: Lambda's runtime has it
        assert not any(n.startswith(heavy) for n in names), heavy
    assert not any(n.endswith(".pyc") or n.startswith("bin/") for n in names)


def test_glue_gets_its_script_pipeline_and_pinned_wheels(
    built: dict[str, tuple[Path, str]],
) -> None:
    folder, output = built["glue"]
    manifest = _manifest(folder)
    parameters = manifest["parameters"]
    assert isinstance(parameters, dict)
    assert set(parameters) == {"FunctionsCode", "FunctionArchitecture", "GlueWheels"}
    assert sorted(manifest["upload"]) == sorted(  # type: ignore[call-overload]
        [parameters["FunctionsCode"], parameters["GlueWheels"], "glue_job.py",
         "pipeline.yaml", "glue-requirements.txt"]
    )  # fmt: skip
    with zipfile.ZipFile(folder / parameters["GlueWheels"]) as archive:
        wheels = archive.namelist()
    assert "medalist-0.1.0-py3-none-any.whl" in wheels
    assert any(w.startswith("duckdb-") for w in wheels) and any(
        w.startswith("s3fs-") for w in wheels
    )
    pins = (folder / "glue-requirements.txt").read_text().splitlines()
    assert "medalist==0.1.0" in pins and len(pins) == len(wheels)
    assert "def main(" in (folder / "glue_job.py").read_text()
    for column in ("artifact", "MB unzipped", "limit", parameters["FunctionsCode"]):
        assert column in output


def test_lambda_compute_gets_an_image_with_every_wheel(
    built: dict[str, tuple[Path, str]],
) -> None:
    folder, output = built["lambda"]
    dockerfile = (folder / "image" / "Dockerfile").read_text()
    assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
    assert "--no-index" in dockerfile and 'CMD ["medalist.aws_handlers.run_state"]' in dockerfile
    wheels = {w.name.split("-")[0] for w in (folder / "image" / "wheels").glob("*.whl")}
    assert {"medalist", "duckdb", "pyarrow", "boto3"} <= wheels
    assert (folder / "image" / "pipeline.yaml").is_file()
    assert "image/" not in _manifest(folder)["upload"]  # type: ignore[operator]
    assert "docker build --platform linux/amd64" in output


def test_an_artifact_over_lambdas_limit_is_refused_naming_the_fix() -> None:
    done = Packaged(Path("dist"), "lambda", "x86_64")
    done.artifacts = [
        Artifact("controller-1.zip", "controller and finish functions", 90 * MB, 373 * MB,
                 ZIP_LIMIT, "x"),
        Artifact("image/", "state function", 120 * MB, 373 * MB, IMAGE_LIMIT, "y"),
    ]  # fmt: skip
    (problem,) = over_limit(done)
    assert problem == (
        "controller-1.zip (controller and finish functions) is 373 MB unzipped; "
        "a function's zip may be at most 250 MB"
    )


def test_a_wheelhouse_without_the_wheels_says_how_to_fill_it(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["init", str(tmp_path / "shop")])
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        app,
        ["aws", "package", "-c", str(tmp_path / "shop" / "pipeline.yaml"),
         "-o", str(tmp_path / "out"), "--wheelhouse", str(tmp_path / "empty")],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "pip could not collect the wheels from wheelhouse" in result.output
    assert "pip download --only-binary=:all:" in result.output
