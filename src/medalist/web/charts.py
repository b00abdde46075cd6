"""Small bar charts as inline SVG, drawn on the server: no JavaScript, nothing downloaded."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLORS = {"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "RUNNING": "#1565c0", "value": "#546e7a"}


def bars(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    unit: str = "",
    width: int = 420,
    height: int = 140,
) -> str:
    """Stacked bars, one per label; each series a color (COLORS by name, else grey)."""
    totals = [sum(s[i] for s in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    slot = width / max(len(labels), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 34}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, label in enumerate(labels):
        y = float(height)
        for name, values in series.items():
            h = values[i] / top * height
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{i * slot + 2:.1f}" y="{y:.1f}" width="{slot - 4:.1f}" '
                f'height="{h:.1f}" fill="{COLORS.get(name, COLORS["value"])}">'
                f"<title>{escape(label)} {escape(name)}: {values[i]:g}{unit}</title></rect>"
            )
        if len(labels) <= 16 or i % 2 == 0:
            parts.append(
                f'<text x="{i * slot + slot / 2:.1f}" y="{height + 14}" font-size="9" '
                f'text-anchor="middle">{escape(label[-5:])}</text>'
            )
    parts.append(
        f'<text x="0" y="{height + 30}" font-size="10">max {top:g}{escape(unit)}</text></svg>'
    )
    return "".join(parts)


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
