"""A line the CSV sniffer refuses as too long, or a field far over any sane size, costs its row
(quarantined with the reason and a cut copy), not the file (issue 18)."""

from __future__ import annotations

from medalist.contracts.rules import FIELD_LIMIT
from medalist.runlog import Status
from tests.conftest import HEADER


def test_an_over_long_line_is_quarantined_cut_short_and_the_rest_of_the_file_loads(make_project):
    project = make_project()
    rows = [f"{i},2026-11-24 09:00:00,7,2,10.00,PAID" for i in range(1, 40)]
    rows.insert(10, "999,2026-11-24 09:00:00,7,2,10.00," + "X" * (3 * FIELD_LIMIT))  # 3 MB
    project.land("orders/2026-11-24.csv", HEADER + "\n".join(rows) + "\n")

    (run,) = project.run().runs

    assert run.status == Status.SUCCEEDED
    assert (run.rows_silver, run.rows_quarantined) == (39, 1)
    (bad,) = project.parquet("quarantine/orders/*.parquet")
    assert bad["order_id"] == "999" and "status:too_long" in bad["_rules"]
    assert len(bad["status"]) < 1100 and bad["status"].endswith("[cut: 3000000 bytes]")
    assert "over the 1,000,000 a field may hold" in bad["_reason"]
    assert bad["_source_row"] == 11
