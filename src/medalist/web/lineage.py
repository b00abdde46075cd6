"""Where data goes: landing files → silver tables → gold models → destination tables, as
graph data and as an SVG drawn on the server, and each gold model with its SQL, inputs and
last build."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from medalist.config import LoadMode, Pipeline
from medalist.gold import model_inputs, model_order
from medalist.runlog import Status
from medalist.workflow.context import Ports

COLUMN_W, NODE_W, NODE_H, ROW_H = 210, 180, 34, 50
FILL = {"landing": "#eceff1", "silver": "#e3f2fd", "gold": "#fff8e1", "destination": "#e8f5e9"}


@dataclass(frozen=True)
class Node:
    key: str  # unique: "landing:orders/*.csv", "silver.orders", "dest:gold.daily_sales"
    label: str
    kind: str  # landing, silver, gold, destination
    column: int


def lineage(pipeline: Pipeline) -> tuple[list[Node], list[tuple[str, str]]]:
    """(nodes, edges as (from key, to key)) of the whole pipeline."""
    inputs = {m: model_inputs(m, pipeline.models[m].sql) for m in pipeline.models}
    depth: dict[str, int] = {}
    for name in model_order(pipeline):
        gold = [t for s, t in inputs[name] if s == "gold"]
        depth[name] = 1 + max((depth[t] for t in gold), default=-1)
    last = 2 + max(depth.values(), default=-1) + 1
    scheme = pipeline.destination_url.split(":", 1)[0]  # never the URL: it may hold a password
    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []
    for name, spec in pipeline.datasets.items():
        nodes.append(Node(f"landing:{spec.source}", f"landing/{spec.source}", "landing", 0))
        nodes.append(Node(f"silver.{name}", f"silver.{name}", "silver", 1))
        nodes.append(Node(f"dest:silver.{name}", f"{scheme}: silver.{name}", "destination", last))
        edges += [(f"landing:{spec.source}", f"silver.{name}")]
        edges += [(f"silver.{name}", f"dest:silver.{name}")]
    for name in model_order(pipeline):
        model = pipeline.models[name]
        nodes.append(Node(f"gold.{name}", f"gold.{name}", "gold", 2 + depth[name]))
        edges += [(f"{s}.{t}", f"gold.{name}") for s, t in sorted(inputs[name])]
        if model.load_mode != LoadMode.none or model.run_in == "destination":
            nodes.append(Node(f"dest:gold.{name}", f"{scheme}: gold.{name}", "destination", last))
            edges.append((f"gold.{name}", f"dest:gold.{name}"))
    return nodes, edges


def svg(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> str:
    """Columns left to right, boxes colored by zone, arrows from input to output."""
    rows: dict[int, int] = {}
    at: dict[str, tuple[float, float]] = {}
    for node in nodes:
        row = rows.get(node.column, 0)
        rows[node.column] = row + 1
        at[node.key] = (10 + node.column * COLUMN_W, 10 + row * ROW_H)
    width = 20 + (max(rows, default=0) + 1) * COLUMN_W - (COLUMN_W - NODE_W)
    height = 20 + max(rows.values(), default=1) * ROW_H
    parts = [
        f'<svg class="lineage" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="lineage: landing → silver → gold → destination">'
        '<defs><marker id="lin-arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0 0 L8 4 L0 8 z" fill="#546e7a"/></marker></defs>'
    ]
    for source, target in edges:
        if source not in at or target not in at:
            continue
        (x1, y1), (x2, y2) = at[source], at[target]
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H / 2, y2 + NODE_H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path data-edge="{escape(source)}>{escape(target)}" fill="none" stroke="#546e7a" '
            f'd="M{x1} {y1} C{mid} {y1} {mid} {y2} {x2 - 2} {y2}" marker-end="url(#lin-arrow)"/>'
        )
    for node in nodes:
        x, y = at[node.key]
        label = node.label if len(node.label) <= 26 else node.label[:25] + "…"
        parts.append(
            f'<g data-node="{escape(node.key)}"><title>{escape(node.label)}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
            f'fill="{FILL[node.kind]}" stroke="#37474f"/>'
            f'<text x="{x + 8}" y="{y + 22}" font-size="12">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def models_view(pipeline: Pipeline, ports: Ports) -> list[dict[str, Any]]:
    """Each gold model in build order: SQL, what it reads, what reads it, its last build."""
    runs = ports.runlog.list(status=Status.SUCCEEDED, limit=2_000)
    inputs = {m: model_inputs(m, pipeline.models[m].sql) for m in pipeline.models}
    views = []
    for name in model_order(pipeline):
        model = pipeline.models[name]
        built = next(
            (
                r
                for r in runs
                if name in r.outputs.get("Transform", {}).get("gold_rows", {})
                or f"gold.{name}" in r.outputs.get("Load", {}).get("tables", {})
            ),
            None,
        )
        rows = None
        if built is not None:
            rows = built.outputs.get("Transform", {}).get("gold_rows", {}).get(name)
        views.append(
            {
                "name": name,
                "sql": model.sql.strip(),
                "run_in": model.run_in,
                "load": str(model.load_mode),
                "primary_key": model.primary_key,
                "reads": sorted(f"{s}.{t}" for s, t in inputs[name]),
                "read_by": sorted(m for m, i in inputs.items() if ("gold", name) in i),
                "last_build": None
                if built is None
                else {"run_id": built.run_id, "at": built.ended_at, "rows": rows},
            }
        )
    return views
