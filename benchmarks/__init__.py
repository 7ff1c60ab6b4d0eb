"""Benchmarks: restate_saga against a hand-written saga and the reference restate-saga 0.1.0."""
