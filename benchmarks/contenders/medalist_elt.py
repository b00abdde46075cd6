"""medalist, a full run with its gold model run inside PostgreSQL (run_in: destination): the
engine validates and loads silver, PostgreSQL aggregates it in the Load's transaction."""

from __future__ import annotations

import sys

from benchmarks.contenders.medalist_run import main

if __name__ == "__main__":
    main(*sys.argv[1:4], run_in="destination")
