"""What every route of one dashboard shares: the pipeline, its ports, its users. create_app
puts one in `app.state`; routes take it as a dependency (`Dash`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from medalist.access import Users
from medalist.config import Pipeline
from medalist.workflow.context import Ports


@dataclass(frozen=True)
class Dashboard:
    pipeline: Pipeline
    ports: Ports
    users: Users
    local_csrf: str  # single-user mode still protects its forms


def dashboard(request: Request) -> Dashboard:
    """The dashboard the request's app serves."""
    found: Dashboard = request.app.state.dashboard
    return found


Dash = Annotated[Dashboard, Depends(dashboard)]
