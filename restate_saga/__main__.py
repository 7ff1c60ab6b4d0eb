"""`python -m restate_saga`: the `restate-saga` command line."""

from restate_saga.cli import main

main()
