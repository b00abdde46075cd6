"""dlt's default path for an Arrow table into PostgreSQL (no loader format chosen)."""

from __future__ import annotations

import sys

from benchmarks.contenders.dlt_fast import main

if __name__ == "__main__":
    main(*sys.argv[1:4], file_format="default")
