"""The run log as the dashboard reads and operates it: runs filtered and cut to the user's
role, one dataset, a retry (for roles that may operate)."""

from __future__ import annotations

from typing import Any

from medalist.access import User
from medalist.errors import NotFound, Refused
from medalist.operate import RetryBusy, retry_run
from medalist.runlog import Status
from medalist.web import views
from medalist.web.context import Dashboard
from medalist.workflow.definition import INGEST
from medalist.workflow.runner import Runner


def list_runs(
    dash: Dashboard, user: User, status: Status | None, dataset: str | None, day: str | None
) -> list[dict[str, Any]]:
    records = dash.ports.runlog.list(dataset=dataset, status=status, limit=500)
    if day:
        records = [r for r in records if r.started_at.date().isoformat() == day]
    return [views.run_view(r, user) for r in records]


def dataset(dash: Dashboard, name: str) -> dict[str, Any]:
    if name not in dash.pipeline.datasets:
        raise NotFound(
            f"no dataset {name!r}", fix=f"Datasets: {', '.join(dash.pipeline.datasets)}."
        )
    return views.dataset_view(dash.pipeline, dash.ports, name)


def retry(dash: Dashboard, user: User, run_id: str) -> dict[str, Any]:
    if not user.role.operate:
        raise Refused(
            f"role {user.role_name} may not operate runs",
            fix="Ask an admin for a role with operate: true.",
        )
    outcome = retry_run(dash.pipeline, dash.ports, Runner(INGEST), run_id)
    if not outcome.runs:
        raise RetryBusy(f"run {run_id} could not be retried now: another process holds it")
    return views.run_view(outcome.runs[0], user)
