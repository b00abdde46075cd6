"""What starts runs unattended: file events on landing and a cron schedule (the S3 event and
the EventBridge schedule of the AWS design)."""
