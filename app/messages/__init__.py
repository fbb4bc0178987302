"""Customer-service communication records."""
