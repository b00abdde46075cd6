"""The run's workflow as inline SVG, drawn on the server, like the Step Functions console
(time series are drawn by static/charts.js with uPlot: see web.timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def workflow(states: Sequence[tuple[str, str, str]]) -> str:
    """The run's states as boxes joined by arrows, colored by status: (name, status, detail)."""
    fill = {"SUCCEEDED": "#c8e6c9", "FAILED": "#ffcdd2", "RUNNING": "#bbdefb"}
    width = 170 * len(states)
    parts = [f'<svg class="workflow" viewBox="0 0 {width} 80" role="img" aria-label="workflow">']
    for i, (name, status, detail) in enumerate(states):
        x = i * 170 + 10
        parts.append(
            f'<g class="state state-{escape(status.lower())}" data-state="{escape(name)}">'
            f'<rect x="{x}" y="10" width="130" height="56" rx="8" '
            f'fill="{fill.get(status, "#eeeeee")}" stroke="#37474f"/>'
            f'<text x="{x + 65}" y="34" text-anchor="middle" font-size="14" '
            f'font-weight="bold">{escape(name)}</text>'
            f'<text x="{x + 65}" y="54" text-anchor="middle" font-size="10">'
            f"{escape(status)} {escape(detail)}</text></g>"
        )
        if i < len(states) - 1:
            parts.append(
                f'<path d="M{x + 132} 38 L{x + 168} 38" stroke="#37474f" stroke-width="2" '
                f'marker-end="url(#arrow)"/>'
            )
    parts.append(
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0 0 L8 4 L0 8 z" fill="#37474f"/></marker></defs></svg>'
    )
    return "".join(parts)
