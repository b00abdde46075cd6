"""What a run does: Crawl, Transform, Load. Each takes a RunContext and returns a result."""
