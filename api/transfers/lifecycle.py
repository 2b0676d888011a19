"""The transfer lifecycle: the table is the documentation.

Actors: `initiator` is the party that asked (the taker) or proposed (a giver answering a need),
`recipient` the other party; `giver` and `taker` are the two organisations; `operator` an
operator of the transfer's network.

from        action            actor       to          guard / effect
-           request           initiator   requested   the offer is published and has the quantity
requested   accept            recipient   accepted    an active member; the agreed quantity is taken from the
                                                      published offer, atomically
requested   decline           recipient   declined
requested   cancel            initiator   cancelled
accepted    schedule          giver       scheduled   date, transport mode, distance (computed), vehicle
accepted    schedule          taker       scheduled
scheduled   schedule          giver       scheduled   changes the plan
scheduled   schedule          taker       scheduled
accepted    cancel            giver       cancelled   the agreed quantity returns to the offer
accepted    cancel            taker       cancelled   (idem)
scheduled   cancel            giver       cancelled   (idem)
scheduled   cancel            taker       cancelled   (idem)
scheduled   dispatch          giver       in_transit  hazardous waste: a tracking form (BSD) and a carrier
in_transit  receive           taker       received    quantity received; a refused part needs a reason
received    complete          taker       completed   impact counted, once
received    complete          giver       completed   (idem)
in_transit  dispute           giver       disputed    a reason
in_transit  dispute           taker       disputed
received    dispute           giver       disputed
received    dispute           taker       disputed
disputed    resolve_complete  operator    completed   impact counted on what was received
disputed    resolve_cancel    operator    cancelled   the material has moved: nothing returns to the offer
"""

from __future__ import annotations

from api.lifecycle import Lifecycle, Transition
from schemas.transfers import TransferStatus

TRANSFER: Lifecycle[TransferStatus] = Lifecycle(
    "transfer",
    [
        Transition(None, "request", "initiator", "requested"),
        Transition("requested", "accept", "recipient", "accepted"),
        Transition("requested", "decline", "recipient", "declined"),
        Transition("requested", "cancel", "initiator", "cancelled"),
        Transition("accepted", "schedule", "giver", "scheduled"),
        Transition("accepted", "schedule", "taker", "scheduled"),
        Transition("scheduled", "schedule", "giver", "scheduled"),
        Transition("scheduled", "schedule", "taker", "scheduled"),
        Transition("accepted", "cancel", "giver", "cancelled"),
        Transition("accepted", "cancel", "taker", "cancelled"),
        Transition("scheduled", "cancel", "giver", "cancelled"),
        Transition("scheduled", "cancel", "taker", "cancelled"),
        Transition("scheduled", "dispatch", "giver", "in_transit"),
        Transition("in_transit", "receive", "taker", "received"),
        Transition("received", "complete", "taker", "completed"),
        Transition("received", "complete", "giver", "completed"),
        Transition("in_transit", "dispute", "giver", "disputed"),
        Transition("in_transit", "dispute", "taker", "disputed"),
        Transition("received", "dispute", "giver", "disputed"),
        Transition("received", "dispute", "taker", "disputed"),
        Transition("disputed", "resolve_complete", "operator", "completed"),
        Transition("disputed", "resolve_cancel", "operator", "cancelled"),
    ],
)

# Leaving these statuses gives the agreed quantity back to the offer when the transfer is cancelled.
HOLDS_STOCK: frozenset[str] = frozenset({"accepted", "scheduled"})


def actors_for(status: TransferStatus | None, action: str) -> set[str]:
    """Who may take `action` from `status` (empty when nobody may)."""
    return {t.actor for t in TRANSFER.transitions if t.from_status == status and t.action == action}


def allowed_for(status: TransferStatus | None, roles: list[str]) -> list[str]:
    """The actions any of the caller's roles may take from `status`, in table order, once each."""
    actions: list[str] = []
    for role in roles:
        for action in TRANSFER.allowed_actions(status, role):
            if action not in actions:
                actions.append(action)
    return actions
