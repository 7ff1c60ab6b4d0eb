"""Optional integrations of restate_saga, each behind its own extra (`pip install "restate_saga[otel]"`)."""
