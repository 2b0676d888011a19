"""The transfers' small park (giver, taker, operator, bystander), reused to make events happen."""

from __future__ import annotations

from tests.api.transfers.conftest import Park, act, ask, park

__all__ = ["Park", "act", "ask", "park"]
