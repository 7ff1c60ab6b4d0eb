"""The three implementations of the benchmark sagas, each served as its own deployment."""
