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

from api.lifecycle import IllegalTransitionError, Lifecycle, Transition
from schemas.memberships import MembershipStatus

__all__ = ["MEMBERSHIP", "IllegalTransitionError"]

MEMBERSHIP: Lifecycle[MembershipStatus] = Lifecycle(
    "membership",
    [
        Transition(None, "request", "member", "pending"),
        Transition("rejected", "request", "member", "pending"),
        Transition("pending", "approve", "operator", "active"),
        Transition("pending", "reject", "operator", "rejected"),
        Transition("active", "suspend", "operator", "suspended"),
        Transition("suspended", "reinstate", "operator", "active"),
    ],
)
