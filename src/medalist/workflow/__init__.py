"""The workflow (Step Functions in the AWS design): states as data, run by a runner."""
