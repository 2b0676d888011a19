"""The synergy funnel's steps a match request takes, beside the operators' (api/synergies/lifecycle.py).

When a member turns a match into an exchange, the members have studied the pair themselves: the
synergy following it is proposed if there is none (`match`, as detection's `propose`) and moves to
`in_progress` (`request`, by the requesting party), so that the exchange completing realises it
(migration 0014's trigger). A synergy already in progress is reused as it is.

from         action    actor   to           effect
-            match     system  potential    the pair had no open synergy
potential    request   party   in_progress  the exchange is linked
studied      request   party   in_progress  the exchange is linked
"""

from __future__ import annotations

from api.lifecycle import SYSTEM, Lifecycle, Transition
from api.synergies.lifecycle import SYNERGY
from schemas.synergies import SynergyStatus

PARTY = "party"

MATCHED: Lifecycle[SynergyStatus] = Lifecycle(
    "synergy",
    [
        *SYNERGY.transitions,
        Transition(None, "match", SYSTEM, "potential"),
        Transition("potential", "request", PARTY, "in_progress"),
        Transition("studied", "request", PARTY, "in_progress"),
    ],
)
