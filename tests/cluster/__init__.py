"""Sagas on a replicated Restate cluster, with nodes killed mid-run."""
