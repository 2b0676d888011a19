"""The reservation lifecycle: the table is the documentation.

Actors: `requester` is the organisation that books, `provider` the one whose service listing it is,
`operator` an operator of the listing's network, `system` the clock (the sweep, see below).
Capacity is *held* by `accepted`, `awaiting_payment`, `confirmed` and `in_progress` reservations.

from              action    actor      to                guard / effect
-                 request   requester  requested         a published service offer of another, active member,
                                                         visible to the requester; the period fits the
                                                         listing's window and length bounds; the quantity fits
                                                         the capacity left free by held reservations *now*
requested         accept    provider   accepted          free listing; an active member; capacity re-checked
                                                         with the listing row locked: from here it is held
requested         accept    provider   awaiting_payment  priced listing (price_kind not `free`); idem
requested         decline   provider   declined          optional reason
requested         cancel    requester  cancelled         a reason
requested         cancel    operator   cancelled         a reason
requested         expire    system     expired           no answer within the response time (or at start)
accepted          confirm   requester  confirmed
accepted          expire    system     expired           not confirmed within the response time (or at start)
awaiting_payment  pay       system     confirmed         the payment succeeded (payments capability, later)
awaiting_payment  expire    system     expired           not paid within the response time (or at start)
accepted          cancel    requester  cancelled         before start, a reason; the capacity is freed
accepted          cancel    provider   cancelled         (idem)
accepted          cancel    operator   cancelled         (idem)
awaiting_payment  cancel    requester  cancelled         (idem)
awaiting_payment  cancel    provider   cancelled         (idem)
awaiting_payment  cancel    operator   cancelled         (idem)
confirmed         cancel    requester  cancelled         (idem)
confirmed         cancel    provider   cancelled         (idem)
confirmed         cancel    operator   cancelled         (idem)
confirmed         start     system     in_progress       start reached
in_progress       complete  provider   completed         early end, by the provider
in_progress       complete  system     completed         end reached

The clock wins: a reservation whose deadline, start or end has passed is treated as the sweep will
leave it, whether or not the sweep has run yet (`due`). So an accept racing the sweep past the
deadline is refused either way, and before the deadline the row lock orders them.
"""

from __future__ import annotations

from datetime import datetime

from api.lifecycle import Lifecycle, Transition
from schemas.reservations import ReservationStatus

_HOLDING: tuple[ReservationStatus, ...] = ("accepted", "awaiting_payment", "confirmed")


def _cancels() -> list[Transition[ReservationStatus]]:
    return [
        Transition(status, "cancel", actor, "cancelled")
        for status in _HOLDING
        for actor in ("requester", "provider", "operator")
    ]


RESERVATION: Lifecycle[ReservationStatus] = Lifecycle(
    "reservation",
    [
        Transition(None, "request", "requester", "requested"),
        Transition("requested", "accept", "provider", "accepted", guard="free"),
        Transition("requested", "accept", "provider", "awaiting_payment", guard="priced"),
        Transition("requested", "decline", "provider", "declined"),
        Transition("requested", "cancel", "requester", "cancelled"),
        Transition("requested", "cancel", "operator", "cancelled"),
        Transition("requested", "expire", "system", "expired"),
        Transition("accepted", "confirm", "requester", "confirmed"),
        Transition("accepted", "expire", "system", "expired"),
        Transition("awaiting_payment", "pay", "system", "confirmed"),
        Transition("awaiting_payment", "expire", "system", "expired"),
        *_cancels(),
        Transition("confirmed", "start", "system", "in_progress"),
        Transition("in_progress", "complete", "provider", "completed"),
        Transition("in_progress", "complete", "system", "completed"),
    ],
)

HOLDS_CAPACITY: frozenset[str] = frozenset({*_HOLDING, "in_progress"})
# Statuses the clock expires once `expires_at` has passed.
EXPIRING: frozenset[str] = frozenset({"requested", "accepted", "awaiting_payment"})


def actors_for(status: ReservationStatus | None, action: str) -> set[str]:
    """Who may take `action` from `status` (empty when nobody may)."""
    return {t.actor for t in RESERVATION.transitions if t.from_status == status and t.action == action}


def allowed_for(status: ReservationStatus | None, roles: list[str]) -> list[str]:
    """The actions any of the caller's roles may take from `status`, in table order, once each."""
    actions: list[str] = []
    for role in roles:
        for action in RESERVATION.allowed_actions(status, role):
            if action not in actions:
                actions.append(action)
    return actions


def due(
    status: ReservationStatus,
    expires_at: datetime | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[tuple[str, ReservationStatus]]:
    """The system's steps the clock has made due at `now`, in order: [(action, to_status), ...]."""
    if status in EXPIRING:
        return [("expire", "expired")] if expires_at is not None and expires_at <= now else []
    steps: list[tuple[str, ReservationStatus]] = []
    if status == "confirmed" and start <= now:
        steps.append(("start", "in_progress"))
        status = "in_progress"
    if status == "in_progress" and end <= now:
        steps.append(("complete", "completed"))
    return steps
