"""One module per contender; each loads one CSV into one PostgreSQL database when run as
`python -m benchmarks.contenders.NAME CSV DATABASE_URL WORKDIR`, and prints the rows loaded."""
