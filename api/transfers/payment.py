"""A transfer's payment seen from the transfer: what Stripe says of it, and who may see it."""

from __future__ import annotations

import uuid

from api.auth.principal import Principal
from api.db.pool import Connection
from api.lifecycle import SYSTEM
from api.payments import repository as payments
from api.payments.service import transfer_payment
from api.transfers import repository
from api.transfers.lifecycle import TRANSFER
from api.transfers.service import _announce, _visible
from schemas.payments import TransferPayment


async def settle(conn: Connection, transfer_id: uuid.UUID, succeeded: bool, failure: str | None) -> None:
    """Apply what the payment provider says of a transfer's payment: `pay` (the system's action) once
    it succeeded, the reason of a failed attempt otherwise; nothing unless it awaits payment."""
    transfer = await repository.get(conn, transfer_id, for_update=True)
    if transfer is None or transfer.status != "awaiting_payment":
        return
    if succeeded:
        step = TRANSFER.step(transfer.status, "pay", SYSTEM)
        await repository.update(
            conn, transfer.id, step.to_status, {"payment_failure": None, "payment_due_at": None}
        )
        await repository.insert_event(
            conn, transfer.id, "pay", transfer.status, step.to_status, None, SYSTEM, None
        )
        await _announce(conn, transfer.id, step.to_status, "pay")
    elif failure != transfer.payment_failure:
        await payments.set_failure(conn, transfer.id, failure, of="transfer")


async def get_payment(conn: Connection, principal: Principal, transfer_id: uuid.UUID) -> TransferPayment:
    """A priced transfer's payment, for its parties and the network's operators; the `client_secret`
    the frontend confirms with goes to the taker (the payer) only."""
    transfer, roles = await _visible(conn, principal, transfer_id, lock=False)
    return await transfer_payment(conn, transfer, roles)
