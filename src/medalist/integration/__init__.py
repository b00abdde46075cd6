"""The integration layer (DMS, the on-premise ingestion app, Airbyte in the AWS design): what
brings data into landing. `extract` copies database tables, `land` sends files; both write
through the Storage port (stage, then publish), so a local lake and an S3 lake work alike."""
