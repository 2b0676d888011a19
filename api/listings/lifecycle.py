"""The listing lifecycle: the table is the documentation.

from        action      actor       to
draft       publish     owner       published   (guard: the owner is an active member)
paused      publish     owner       published
expired     publish     owner       published   (guard: available_until is in the future)
published   pause       owner       paused
draft       archive     owner       archived
published   archive     owner       archived
paused      archive     owner       archived
expired     archive     owner       archived
published   expire      system      expired     (available_until has passed)
paused      expire      system      expired
"""

from __future__ import annotations

from api.lifecycle import Lifecycle, Transition
from schemas.listings import ListingStatus

LISTING: Lifecycle[ListingStatus] = Lifecycle(
    "listing",
    [
        Transition("draft", "publish", "owner", "published"),
        Transition("paused", "publish", "owner", "published"),
        Transition("expired", "publish", "owner", "published"),
        Transition("published", "pause", "owner", "paused"),
        Transition("draft", "archive", "owner", "archived"),
        Transition("published", "archive", "owner", "archived"),
        Transition("paused", "archive", "owner", "archived"),
        Transition("expired", "archive", "owner", "archived"),
        Transition("published", "expire", "system", "expired"),
        Transition("paused", "expire", "system", "expired"),
    ],
)
