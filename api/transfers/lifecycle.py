"""The transfer lifecycle: the table is the documentation.

Actors: `giver` and `taker` are the two organisations; `initiator` is whichever of them asked (the
taker) or proposed (a giver answering a need), `recipient` the other one; `operator` an operator of
the transfer's network. Callers, messages and recorded events only ever say giver, taker or operator:
`plays` and `party` translate initiator and recipient for one transfer. `system` is the payment
provider and the clock: its actions have no route; a verified Stripe webhook (or reconciliation)
takes `pay`, the sweep takes `expire`.

A transfer of a priced offer (`fixed` or `per_unit`; not free, not negotiable) is paid by the taker
before it can be scheduled: accepting it opens its PaymentIntent and it waits in `awaiting_payment`
until Stripe says the payment succeeded, at the latest until its `payment_due_at`
(TRANSFER_PAYMENT_HOURS after the accept): past it the sweep cancels it. A payment Stripe reports
before the sweep has run is applied all the same (the money is taken); one reported after is
refunded in full, as is a transfer cancelled once paid.

from             action           actor     to               guard / effect
-                request          initiator requested        the offer is published and has the quantity; a
                                                             priced offer's terms are copied (its giver must
                                                             take payments)
requested        accept           recipient accepted         free (or negotiable) offer; an active member; the
                                                             agreed quantity is taken from the published
                                                             offer, atomically
requested        accept           recipient awaiting_payment priced offer; idem, and its PaymentIntent is made
requested        decline          recipient declined
requested        cancel           initiator cancelled
awaiting_payment pay              system    paid             the payment succeeded at Stripe
awaiting_payment expire           system    cancelled        not paid by `payment_due_at` (the sweep); the
                                                             quantity returns; the PaymentIntent is
                                                             cancelled at Stripe after commit
awaiting_payment cancel           giver     cancelled        the quantity returns; the PaymentIntent is
                                                             cancelled at Stripe after commit
awaiting_payment cancel           taker     cancelled        (idem)
accepted         schedule         giver     scheduled        date, transport mode, distance (computed),
                                                             vehicle
accepted         schedule         taker     scheduled
paid             schedule         giver     scheduled        (idem)
paid             schedule         taker     scheduled
paid             cancel           giver     cancelled        the quantity returns; refunded in full
paid             cancel           taker     cancelled        (idem)
scheduled        schedule         giver     scheduled        changes the plan
scheduled        schedule         taker     scheduled
accepted         cancel           giver     cancelled        the agreed quantity returns to the offer
accepted         cancel           taker     cancelled        (idem)
scheduled        cancel           giver     cancelled        (idem; a paid transfer is refunded in full)
scheduled        cancel           taker     cancelled        (idem)
scheduled        dispatch         giver     in_transit       hazardous waste: a tracking form (BSD) and a
                                                             carrier
in_transit       receive          taker     received         quantity received; a refused part needs a reason
received         complete         taker     completed        impact counted, once
received         complete         giver     completed        (idem)
in_transit       dispute          giver     disputed         a reason
in_transit       dispute          taker     disputed
received         dispute          giver     disputed
received         dispute          taker     disputed
disputed         resolve_complete operator  completed        impact counted on what was received
disputed         resolve_cancel   operator  cancelled        the material has moved: nothing returns to the
                                                             offer; a paid transfer is refunded in full
"""

from __future__ import annotations

from api.lifecycle import SYSTEM, Lifecycle, Transition
from schemas.transfers import Party, TransferStatus

TRANSFER: Lifecycle[TransferStatus] = Lifecycle(
    "transfer",
    [
        Transition(None, "request", "initiator", "requested"),
        Transition("requested", "accept", "recipient", "accepted", guard="free"),
        Transition("requested", "accept", "recipient", "awaiting_payment", guard="priced"),
        Transition("requested", "decline", "recipient", "declined"),
        Transition("requested", "cancel", "initiator", "cancelled"),
        Transition("awaiting_payment", "pay", SYSTEM, "paid"),
        Transition("awaiting_payment", "expire", SYSTEM, "cancelled"),
        Transition("awaiting_payment", "cancel", "giver", "cancelled"),
        Transition("awaiting_payment", "cancel", "taker", "cancelled"),
        Transition("accepted", "schedule", "giver", "scheduled"),
        Transition("accepted", "schedule", "taker", "scheduled"),
        Transition("paid", "schedule", "giver", "scheduled"),
        Transition("paid", "schedule", "taker", "scheduled"),
        Transition("paid", "cancel", "giver", "cancelled"),
        Transition("paid", "cancel", "taker", "cancelled"),
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
HOLDS_STOCK: frozenset[str] = frozenset({"accepted", "awaiting_payment", "paid", "scheduled"})
# Cancelling from these refunds the payment captured (in full).
PAID: frozenset[str] = frozenset({"paid", "scheduled", "disputed"})


def party(actor: str, initiated_by: Party) -> str:
    """The party a table actor is in a transfer `initiated_by` the giver or the taker."""
    recipient = "taker" if initiated_by == "giver" else "giver"
    return {"initiator": initiated_by, "recipient": recipient}.get(actor, actor)


def plays(role: str, initiated_by: Party) -> tuple[str, ...]:
    """The table actors a caller's role (giver, taker, operator) plays in such a transfer."""
    if role in ("giver", "taker"):
        return (role, "initiator" if role == initiated_by else "recipient")
    return (role,)


def actors_for(status: TransferStatus | None, action: str, initiated_by: Party) -> set[str]:
    """Who (giver, taker, operator) may take `action` from `status` (empty when nobody may)."""
    return {
        party(t.actor, initiated_by)
        for t in TRANSFER.transitions
        if t.from_status == status and t.action == action
    }


def allowed_for(status: TransferStatus | None, roles: list[str], initiated_by: Party) -> list[str]:
    """The actions any of the caller's roles may take from `status`, in table order, once each."""
    actors = {actor for role in roles for actor in plays(role, initiated_by)}
    actions = [t.action for t in TRANSFER.transitions if t.from_status == status and t.actor in actors]
    return list(dict.fromkeys(actions))


def step(
    status: TransferStatus, action: str, role: str, initiated_by: Party, facts: frozenset[str] = frozenset()
) -> Transition[TransferStatus]:
    """The transition `role` takes with `action` from `status` given `facts` (`free`, `priced`; a 409
    when there is none)."""
    actors = plays(role, initiated_by)
    actor = next(
        (
            t.actor
            for t in TRANSFER.transitions
            if (t.from_status, t.action) == (status, action) and t.actor in actors
        ),
        role,
    )
    return TRANSFER.step(status, action, actor, facts)
