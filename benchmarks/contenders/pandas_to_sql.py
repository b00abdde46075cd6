"""pandas read_csv + DataFrame.to_sql(method="multi") on the first SAMPLE rows; the harness
extrapolates the time to the whole file (and says so)."""

from __future__ import annotations

import sys

import pandas as pd
from sqlalchemy import create_engine

SAMPLE = 50_000


def main(csv: str, url: str, workdir: str) -> None:
    frame = pd.read_csv(csv, nrows=SAMPLE)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    frame.to_sql("sales", engine, method="multi", chunksize=1000, index=False)
    print(len(frame))


if __name__ == "__main__":
    main(*sys.argv[1:4])
