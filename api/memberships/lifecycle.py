"""The membership lifecycle: the table is the documentation.

from        action      actor      to
(none)      request     member     pending
rejected    request     member     pending
pending     approve     operator   active
pending     reject      operator   rejected
active      suspend     operator   suspended
suspended   reinstate   operator   active
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from api.errors import ConflictError
from schemas.memberships import MembershipAction, MembershipStatus

Actor = Literal["member", "operator"]


@dataclass(frozen=True, slots=True)
class Transition:
    from_status: MembershipStatus | None
    action: MembershipAction | Literal["request"]
    actor: Actor
    to_status: MembershipStatus


TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, "request", "member", "pending"),
    Transition("rejected", "request", "member", "pending"),
    Transition("pending", "approve", "operator", "active"),
    Transition("pending", "reject", "operator", "rejected"),
    Transition("active", "suspend", "operator", "suspended"),
    Transition("suspended", "reinstate", "operator", "active"),
)


class IllegalTransitionError(ConflictError):
    slug, title_text = "illegal-transition", "This action is not possible in the current state"


def allowed_actions(status: MembershipStatus | None, actor: Actor) -> list[str]:
    return [t.action for t in TRANSITIONS if t.from_status == status and t.actor == actor]


def transition(status: MembershipStatus | None, action: str, actor: Actor) -> Transition:
    """The transition `action` takes from `status`, or a 409 listing what is allowed instead."""
    for candidate in TRANSITIONS:
        if candidate.from_status == status and candidate.action == action and candidate.actor == actor:
            return candidate
    allowed = allowed_actions(status, actor)
    state = status or "no membership"
    raise IllegalTransitionError(
        f"cannot {action} a membership that is {state}; allowed: {', '.join(allowed) or 'nothing'}",
        extra={"status": status, "allowed_actions": allowed},
    )
