"""Lifecycles as data: a table of transitions (from, action, actor, to) read by one function."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from api.errors import ConflictError

S = TypeVar("S", bound=str)
SYSTEM = "system"
"""The actor of the steps nobody takes by hand (the clock, a payment)."""


class IllegalTransitionError(ConflictError):
    slug, title_text = "illegal-transition", "This action is not possible in the current state"


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    from_status: S | None
    action: str
    actor: str
    to_status: S
    guard: str | None = None
    """A fact the transition needs (e.g. `priced`); the caller says which facts hold."""


class Lifecycle(Generic[S]):
    def __init__(self, thing: str, transitions: Sequence[Transition[S]]) -> None:
        self.thing = thing
        self.transitions = tuple(transitions)

    def operations(self) -> list[str]:
        """The actions people take on an existing thing, in table order: one API operation each.

        Creating the thing (an action from no status) is its feature's create route, and actions
        only the `system` (the clock, a payment) takes have no route."""
        creations = {t.action for t in self.transitions if t.from_status is None}
        people = (t.action for t in self.transitions if t.actor != SYSTEM and t.action not in creations)
        return list(dict.fromkeys(people))

    def allowed_actions(self, status: S | None, actor: str) -> list[str]:
        actions = [t.action for t in self.transitions if t.from_status == status and t.actor == actor]
        return list(dict.fromkeys(actions))

    def step(self, status: S | None, action: str, actor: str, facts: Collection[str] = ()) -> Transition[S]:
        """The transition `action` takes from `status`, or a 409 that lists what is allowed instead.

        A guarded transition applies only when its guard is among `facts`."""
        for candidate in self.transitions:
            if (
                candidate.from_status == status
                and candidate.action == action
                and candidate.actor == actor
                and (candidate.guard is None or candidate.guard in facts)
            ):
                return candidate
        allowed = self.allowed_actions(status, actor)
        raise IllegalTransitionError(
            f"cannot {action} a {self.thing} that is {status or 'absent'}; "
            f"allowed: {', '.join(allowed) or 'nothing'}",
            extra={"current_status": status, "allowed_actions": allowed},
        )
