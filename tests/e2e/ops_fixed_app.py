"""Version 2 of `OpsShipping` with the bug in Pack fixed, served by its own process and deployment.

Its side effects go to the file named by `$OPS_LEDGER` (one line each), so that the test can count
them across processes. An input with `"decline": true` makes the fixed Pack refuse for good, so
that the resumed saga compensates instead of completing.
"""

from __future__ import annotations

import restate
from restate import TerminalError

from tests.e2e.ops_app import Data, record, shipping


async def fixed_pack(data: Data) -> Data:
    """Version 2: Pack works (or refuses for good when asked to)."""
    if data.get("decline"):
        record(data["run"], "Pack declined")
        raise TerminalError("Pack declined: the parcel is too heavy", 422)
    record(data["run"], "Pack")
    return data


app = restate.app(services=[shipping(fixed_pack)])
