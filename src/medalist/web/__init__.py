"""The dashboard and its JSON API (the Step Functions console, CloudWatch and Athena's console in
the AWS design): server-rendered pages over the run log, the catalog and the SQL console."""
