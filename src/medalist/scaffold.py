"""`medalist init NAME`: a working project to start from."""

from __future__ import annotations

from pathlib import Path

from medalist.errors import ConfigError

PIPELINE = """\
# medalist pipeline — docs/configuration.md lists every key.
name: {name}
lake: ./lake                  # landing/ silver/ gold/ quarantine/ _medalist/ live under it
# destination: postgresql://postgres@127.0.0.1:5432/{name}   # default: lake/warehouse.duckdb

datasets:
  orders:
    source: orders/*.csv      # glob under lake/landing/
    primary_key: [order_id]
    columns:
      order_id:    {{type: bigint, required: true}}
      order_ts:    {{type: timestamp, required: true}}
      customer_id: {{type: bigint}}
      quantity:    {{type: integer, min: 1}}
      unit_price:  {{type: "decimal(12,2)", min: 0}}
      status:      {{type: varchar, accepted: [PAID, REFUNDED, CANCELLED]}}

models:
  daily_sales:
    sql: >
      SELECT CAST(order_ts AS DATE) AS day, count(*) AS orders,
             sum(quantity * unit_price) AS revenue
      FROM silver.orders WHERE status = 'PAID' GROUP BY 1
    primary_key: [day]

notifications:
  - type: console
  - type: file                # lake/_medalist/notifications.jsonl
"""

SAMPLE = """\
order_id,order_ts,customer_id,quantity,unit_price,status
1001,2026-11-24 09:15:00,7,2,19.90,PAID
1002,2026-11-24 10:02:31,3,1,5.00,PAID
1003,2026-11-24 11:47:12,7,0,12.50,PAID
1004,2026-11-24 12:30:00,12,3,4.25,SHIPPED
1005,2026-11-24 13:05:44,9,1,99.00,REFUNDED
"""


def scaffold(folder: Path) -> Path:
    """Create folder/pipeline.yaml and a sample landed file; refuse to overwrite."""
    config = folder / "pipeline.yaml"
    if config.exists():
        raise ConfigError(
            "already exists; not overwriting it",
            path=str(config),
            fix="Choose another folder name, or edit the existing file.",
        )
    landing = folder / "lake" / "landing" / "orders"
    landing.mkdir(parents=True, exist_ok=True)
    config.write_text(PIPELINE.format(name=folder.resolve().name.replace("-", "_")))
    (landing / "sample-2026-11-24.csv").write_text(SAMPLE)
    return config
