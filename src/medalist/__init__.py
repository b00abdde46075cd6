"""medalist: the AWS serverless medallion ingestion pipeline, runnable anywhere."""

__version__ = "0.1.0"
