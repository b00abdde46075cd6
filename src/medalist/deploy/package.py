"""`medalist aws package`: the deployment artifacts, reproducibly (decision 0035).

- `controller-<sha>.zip`: the controller and finish functions. medalist and only what claiming
  files and recording outcomes import (pydantic, PyYAML, python-ulid; boto3 is in Lambda's
  runtime): a few MB, far under Lambda's 250 MB. The engine (DuckDB, Arrow, NumPy: 270 MB of
  the full 373 MB) never loads there.
- compute glue: `glue_job.py`, `pipeline.yaml` (the job's --extra-files) and
  `glue-wheels-<sha>.zip`, the "zip of wheels" Glue 5 installs with --additional-python-modules,
  for CPython 3.11 on x86_64 (what Glue 5 runs), with `glue-requirements.txt` pinning it.
- compute lambda: `image/`, a Dockerfile with every wheel for the Lambda runtime's Python and
  the chosen architecture: over 250 MB, the state function is a container image (10 GB limit).

Same wheels and pipeline.yaml in, byte-identical zips out: entries sorted, one fixed timestamp
and mode, no bytecode, no installer-specific files. Wheels come from `--wheelhouse` (a folder,
nothing downloaded; the tests use this) or pip's configured index.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import medalist
from medalist.deploy.asl import Compute
from medalist.deploy.compute import GLUE_PYTHON, LAMBDA_PYTHON
from medalist.errors import ConfigError, TerminalError

MB = 1024 * 1024
ZIP_LIMIT = 250 * MB  # a function's code and layers, unzipped
IMAGE_LIMIT = 10 * 1024 * MB  # a container image, uncompressed
# Lambda's Python 3.12 and Glue 5 run on Amazon Linux 2023 (glibc 2.34): manylinux up to 2_34.
PLATFORMS = {
    arch: tuple(f"manylinux{tag}_{machine}" for tag in ("2014", "_2_28", "_2_34"))
    for arch, machine in (("x86_64", "x86_64"), ("arm64", "aarch64"))
}
IMAGE_PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
# What the controller and finish functions import besides medalist and the standard library
# (tests/aws/test_package.py runs both with nothing else importable). boto3: Lambda's runtime.
SLIM = ("pydantic", "pyyaml", "python-ulid")
PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time leaks in
SKIPPED = re.compile(r"(^|/)(__pycache__/|[^/]+\.pyc$|bin/)|\.dist-info/(INSTALLER|REQUESTED)$")

Entries = dict[str, bytes]


@dataclass(frozen=True)
class Artifact:
    name: str  # path inside the artifacts folder
    used_by: str
    bytes: int  # on disk
    unzipped: int  # what the limit counts (0: not limited)
    limit: int
    sha256: str

    @property
    def fits(self) -> bool:
        return not self.limit or self.unzipped <= self.limit


@dataclass
class Packaged:
    folder: Path
    compute: str
    architecture: str
    artifacts: list[Artifact] = field(default_factory=list)
    upload: list[str] = field(default_factory=list)  # what deploy puts on S3
    parameters: dict[str, str] = field(default_factory=dict)  # template parameters to set
    next_steps: list[str] = field(default_factory=list)

    def add_zip(
        self, stem: str, entries: Entries, used_by: str, limit: int, deflate: bool = True
    ) -> str:
        """Write the entries as `stem-<sha>.zip` (named by content: new code is a new key to
        CloudFormation); the name."""
        staged = self.folder / f"{stem}.zip"
        write_zip(staged, entries, deflate)
        digest = hashlib.sha256(staged.read_bytes()).hexdigest()
        name = f"{stem}-{digest[:12]}.zip"
        staged.rename(self.folder / name)
        unzipped = sum(len(data) for data in entries.values())
        size = (self.folder / name).stat().st_size
        self.artifacts.append(Artifact(name, used_by, size, unzipped, limit, digest))
        self.upload.append(name)
        return name

    def add_file(self, name: str, data: bytes, used_by: str) -> None:
        (self.folder / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        self.artifacts.append(Artifact(name, used_by, len(data), 0, 0, digest))
        self.upload.append(name)

    def write_manifest(self) -> Path:
        path = self.folder / "manifest.json"
        body = asdict(self) | {"folder": None}
        path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        return path


def read_manifest(folder: Path) -> dict[str, object]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise ConfigError(
            f"{folder} holds no manifest.json: not built by `medalist aws package`",
            fix=f"Build the artifacts first: medalist aws package -c pipeline.yaml -o {folder}",
        )
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


def package(
    config: Path,
    out: Path,
    compute: Compute,
    architecture: str = "x86_64",
    wheelhouse: Path | None = None,
    progress: Callable[[str], None] = print,
) -> Packaged:
    """Write the artifacts of `compute` into `out`, with manifest.json naming what deploy
    uploads and the template parameters it sets."""
    if architecture not in PLATFORMS:
        raise ConfigError(
            f"--arch {architecture!r} is not a Lambda architecture",
            fix=f"Use one of {', '.join(PLATFORMS)}.",
        )
    if wheelhouse is not None and not wheelhouse.is_dir():
        raise ConfigError(f"--wheelhouse {wheelhouse} is not a folder of wheels")
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("*.zip"), out / "image"]:
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    done = Packaged(out, compute, architecture)
    pipeline_yaml = config.read_bytes()
    with tempfile.TemporaryDirectory(prefix="medalist-package-") as tmp:
        work = Path(tmp)
        own = medalist_wheel(work / "own")
        pip = Pip(wheelhouse, own.parent)
        slim = work / "slim"
        progress(f"Installing the controller's dependencies for {architecture}")
        pip.install(requirements(SLIM), slim, PLATFORMS[architecture], LAMBDA_PYTHON)
        entries = unpacked(own) | tree(slim) | {"pipeline.yaml": pipeline_yaml}
        name = done.add_zip("controller", entries, "controller and finish functions", ZIP_LIMIT)
        done.parameters |= {"FunctionsCode": name, "FunctionArchitecture": architecture}
        if compute == "glue":
            _glue(done, pip, own, pipeline_yaml, work, progress)
        else:
            _image(done, pip, own, pipeline_yaml, work, progress)
    done.write_manifest()
    return done


def _glue(
    done: Packaged,
    pip: Pip,
    own: Path,
    pipeline_yaml: bytes,
    work: Path,
    progress: Callable[[str], None],
) -> None:
    progress("Collecting the Glue job's wheels (CPython 3.11, x86_64)")
    wheels = pip.download(own, work / "glue", PLATFORMS["x86_64"], GLUE_PYTHON)
    entries = {w.name: w.read_bytes() for w in wheels}
    used_by = "Glue job (--additional-python-modules)"
    name = done.add_zip("glue-wheels", entries, used_by, 0, deflate=False)  # wheels: zips
    done.artifacts[-1] = _with_unzipped(done.artifacts[-1], wheels)
    script = (Path(medalist.__file__).parent / "glue_job.py").read_bytes()
    done.add_file("glue_job.py", script, "Glue job script")
    done.add_file("pipeline.yaml", pipeline_yaml, "Glue job (--extra-files)")
    done.add_file("glue-requirements.txt", pins(wheels).encode(), "the Glue wheels, pinned")
    done.parameters["GlueWheels"] = name


def _image(
    done: Packaged,
    pip: Pip,
    own: Path,
    pipeline_yaml: bytes,
    work: Path,
    progress: Callable[[str], None],
) -> None:
    arch = done.architecture
    progress(f"Collecting the state function's wheels (CPython {LAMBDA_PYTHON}, {arch})")
    wheels = pip.download(own, work / "image", PLATFORMS[arch], LAMBDA_PYTHON)
    folder = done.folder / "image"
    (folder / "wheels").mkdir(parents=True)
    for wheel in wheels:
        shutil.copyfile(wheel, folder / "wheels" / wheel.name)
    (folder / "pipeline.yaml").write_bytes(pipeline_yaml)
    (folder / "requirements.txt").write_text(pins(wheels))
    (folder / "Dockerfile").write_text(dockerfile())
    unzipped = sum(_unzipped(w) for w in wheels)
    done.artifacts.append(
        Artifact(
            "image/",
            "state function (container image)",
            _size(folder),
            unzipped,
            IMAGE_LIMIT,
            _digest_tree(folder),
        )
    )
    done.next_steps += [
        f"docker build --platform {IMAGE_PLATFORMS[arch]} -t ACCOUNT.dkr.ecr.REGION."
        f"amazonaws.com/REPOSITORY:TAG {folder}",
        "docker push ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG",
        "then deploy with -p StateImageUri=ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG",
    ]


def dockerfile() -> str:
    return f"""# The state function's image (compute: lambda), built by `medalist aws package`.
# Every wheel it installs is in wheels/, pinned in requirements.txt: the build downloads nothing.
FROM public.ecr.aws/lambda/python:{LAMBDA_PYTHON}
COPY wheels/ /tmp/wheels/
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-index --no-compile --find-links /tmp/wheels \\
        --target "${{LAMBDA_TASK_ROOT}}" -r /tmp/requirements.txt \\
    && rm -rf /tmp/wheels /tmp/requirements.txt
COPY pipeline.yaml ${{LAMBDA_TASK_ROOT}}/pipeline.yaml
CMD ["medalist.aws_handlers.run_state"]
"""


# --- wheels ----------------------------------------------------------------------------------


class Pip:
    """pip for another platform: from a wheelhouse alone (hermetic: no index, no pip
    configuration), or from the configured index."""

    def __init__(self, wheelhouse: Path | None, own: Path) -> None:
        self.wheelhouse, self.own = wheelhouse, own

    def _run(self, args: list[str]) -> None:
        command = [sys.executable, "-m", "pip", *args, "--only-binary=:all:", "--quiet"]
        env = dict(os.environ)
        if self.wheelhouse is not None:
            env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
            env["PIP_CONFIG_FILE"] = os.devnull
            command += ["--no-index", "--find-links", str(self.wheelhouse)]
        command += ["--find-links", str(self.own), "--disable-pip-version-check"]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            source = f"wheelhouse {self.wheelhouse}" if self.wheelhouse else "the package index"
            raise TerminalError(
                f"pip could not collect the wheels from {source}: "
                + (done.stderr.strip().splitlines() or ["(no message)"])[-1],
                fix="Every dependency needs a wheel for the target platform and Python; "
                "fill the wheelhouse with: pip download --only-binary=:all: --platform "
                "PLATFORM --python-version X.Y -d WHEELHOUSE 'medalist[aws]'",
            )

    def install(
        self, reqs: list[str], target: Path, platforms: tuple[str, ...], python: str
    ) -> None:
        self._run(["install", "--target", str(target), "--no-compile", "--no-user",
                   *_platform_args(platforms, python), *reqs])  # fmt: skip

    def download(
        self, own: Path, dest: Path, platforms: tuple[str, ...], python: str
    ) -> list[Path]:
        self._run(["download", "--dest", str(dest), *_platform_args(platforms, python),
                   f"medalist[aws]=={own.name.split('-')[1]}"])  # fmt: skip
        return sorted(dest.glob("*.whl"))


def _platform_args(platforms: tuple[str, ...], python: str) -> list[str]:
    args = ["--python-version", python, "--implementation", "cp"]
    for platform in platforms:
        args += ["--platform", platform]
    return args


def requirements(names: Iterable[str]) -> list[str]:
    """medalist's own requirement lines for these distributions (its version floors)."""
    wanted = {_normal(n) for n in names}
    lines = importlib.metadata.requires("medalist") or []
    found = [line for line in lines if _normal(re.split(r"[<>=!~\[; ]", line)[0]) in wanted]
    return sorted(line.split(";")[0].strip() for line in found)


def pins(wheels: Iterable[Path]) -> str:
    return "".join(f"{w.name.split('-')[0]}=={w.name.split('-')[1]}\n" for w in wheels)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def medalist_wheel(dest: Path) -> Path:
    """The installed medalist as a wheel, built here without a build backend or network:
    the package's files and its metadata, as `pip wheel` would lay them out."""
    dist = importlib.metadata.distribution("medalist")
    root = Path(medalist.__file__).parent
    entries: Entries = {
        f"medalist/{p.relative_to(root).as_posix()}": p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not SKIPPED.search(p.relative_to(root).as_posix())
    }
    info = f"medalist-{dist.version}.dist-info"
    entries[f"{info}/METADATA"] = (dist.read_text("METADATA") or "").encode()
    entries[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: medalist aws package\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    entries[f"{info}/entry_points.txt"] = (dist.read_text("entry_points.txt") or "").encode()
    record = [f"{n},sha256={_urlsafe(d)},{len(d)}" for n, d in sorted(entries.items())]
    entries[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"medalist-{dist.version}-py3-none-any.whl"
    write_zip(path, entries)
    return path


def _urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# --- reproducible zips -----------------------------------------------------------------------


def write_zip(path: Path, entries: Entries, deflate: bool = True) -> None:
    """Sorted entries, a fixed time and mode, deflated at level 9 (or stored): the same
    entries give the same bytes on any machine, any day."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # Unix: the mode above is read
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            archive.writestr(info, entries[name], compresslevel=9 if deflate else None)


def unpacked(wheel: Path) -> Entries:
    """A pure-Python wheel installed into a zip is its contents."""
    with zipfile.ZipFile(wheel) as archive:
        return {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}


def tree(folder: Path) -> Entries:
    """What pip installed into `folder`, without bytecode, scripts or installer marks."""
    found: Entries = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and not SKIPPED.search(name):
            found[name] = path.read_bytes()
    record = [n for n in found if n.endswith(".dist-info/RECORD")]
    for name in record:  # RECORD lists the files removed above: keep it true
        lines = found[name].decode().splitlines()
        found[name] = "".join(
            f"{line}\n" for line in lines if not SKIPPED.search(line.split(",")[0])
        ).encode()
    return found


# --- the artifacts folder --------------------------------------------------------------------


def _with_unzipped(artifact: Artifact, wheels: list[Path]) -> Artifact:
    """A zip of wheels counts what the wheels install, not the wheels."""
    return Artifact(
        artifact.name, artifact.used_by, artifact.bytes,
        sum(_unzipped(w) for w in wheels), artifact.limit, artifact.sha256,
    )  # fmt: skip


def _unzipped(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        return sum(i.file_size for i in archive.infolist())


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _digest_tree(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def over_limit(done: Packaged) -> list[str]:
    """What breaks a Lambda limit, each with its fix."""
    problems = []
    for artifact in done.artifacts:
        if artifact.fits:
            continue
        kind = "a container image" if artifact.limit == IMAGE_LIMIT else "a function's zip"
        problems.append(
            f"{artifact.name} ({artifact.used_by}) is {artifact.unzipped / MB:,.0f} MB "
            f"unzipped; {kind} may be at most {artifact.limit / MB:,.0f} MB"
        )
    return problems
