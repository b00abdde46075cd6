"""Data contracts: what a dataset's rows must be, and the SQL that checks it."""
