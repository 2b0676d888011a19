"""The synergy funnel: the table is the documentation.

Actors: `operator`, an operator of the synergy's network; `system`, detection (proposing) and the
database (realising, when a linked transfer or reservation completes: migration 0014's trigger), and
the first declared outcome of a pooling synergy (`POST /v1/synergies/{id}/outcomes`).
The involved organisations see the synergy and add notes; they do not move it.

from         action    actor     to           effect
-            propose   system    potential    detection, once per fingerprint of its inputs
potential    study     operator  studied      an optional note (the workshop's conclusion)
potential    dismiss   operator  dismissed    not proposed again unless its inputs change
studied      start     operator  in_progress  link the transfers and reservations that carry it out
potential    abandon   operator  abandoned    a reason from the list and an optional note
studied      abandon   operator  abandoned
in_progress  abandon   operator  abandoned
in_progress  realise   system    realised     a linked transfer or reservation completed, or an
                                               outcome was declared (pooling)
"""

from __future__ import annotations

from api.lifecycle import SYSTEM, Lifecycle, Transition
from schemas.synergies import SynergyStatus

SYNERGY: Lifecycle[SynergyStatus] = Lifecycle(
    "synergy",
    [
        Transition(None, "propose", SYSTEM, "potential"),
        Transition("potential", "study", "operator", "studied"),
        Transition("potential", "dismiss", "operator", "dismissed"),
        Transition("studied", "start", "operator", "in_progress"),
        Transition("potential", "abandon", "operator", "abandoned"),
        Transition("studied", "abandon", "operator", "abandoned"),
        Transition("in_progress", "abandon", "operator", "abandoned"),
        Transition("in_progress", "realise", SYSTEM, "realised"),
    ],
)

# The funnel's stages in order, for the report.
STAGES: tuple[SynergyStatus, ...] = ("potential", "studied", "in_progress", "realised")
