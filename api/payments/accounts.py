"""Providers' Stripe connected accounts: opening one, its onboarding link, its state as Stripe has it.

Accounts are Stripe **Express** accounts: Stripe hosts the onboarding and the provider's dashboard
(identity checks, bank details, payouts), the platform keeps control of the charge (see
`api.payments.service`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import stripe

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import NotFoundError
from api.organisations.service import organisation_visibility
from api.payments import repository
from api.payments.stripe_client import failure, require
from schemas.payments import OnboardingLink, OnboardingLinkCreate, PaymentAccount

# Where connected accounts are opened: the networks are French territorial programmes.
ACCOUNT_COUNTRY = "FR"


def account_state(account: stripe.Account) -> dict[str, object]:
    """The columns of `payment_accounts` from Stripe's account object."""
    requirements = account.requirements
    due = (requirements.currently_due if requirements is not None else None) or []
    return {
        "charges_enabled": bool(account.charges_enabled),
        "payouts_enabled": bool(account.payouts_enabled),
        "details_submitted": bool(account.details_submitted),
        "requirements": [str(item) for item in due],
    }


async def create_account(
    conn: Connection, client: stripe.StripeClient | None, principal: Principal, organisation_id: uuid.UUID
) -> tuple[PaymentAccount, bool]:
    """Open the organisation's Express connected account (its administrators only); (account, created).
    An organisation has one: asking again answers the one it has."""
    _, visible = await organisation_visibility(conn, principal, organisation_id, for_update=True)
    policy.organisation_admin(principal, organisation_id, visible=visible)
    existing = await repository.account(conn, organisation_id)
    if existing is not None:
        return existing, False
    stripe_client = require(client)
    try:
        account = await stripe_client.v1.accounts.create_async(
            {
                "type": "express",
                "country": ACCOUNT_COUNTRY,
                "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
                "metadata": {"organisation_id": str(organisation_id)},
            },
            {"idempotency_key": f"organisation:{organisation_id}:account"},
        )
    except stripe.StripeError as exc:
        raise failure(exc) from exc
    await repository.insert_account(conn, organisation_id, account.id)
    await repository.update_account(conn, account.id, **account_state(account))  # type: ignore[arg-type]
    stored = await repository.account(conn, organisation_id)
    assert stored is not None
    return stored, True


async def get_account(conn: Connection, principal: Principal, organisation_id: uuid.UUID) -> PaymentAccount:
    """The organisation's connected account as Stripe last described it (its people only)."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    policy.organisation_member(principal, organisation_id, visible=visible)
    account = await repository.account(conn, organisation_id)
    if account is None:
        raise NotFoundError("this organisation has no payment account; its administrator opens one")
    return account


async def onboarding_link(
    conn: Connection,
    client: stripe.StripeClient | None,
    principal: Principal,
    organisation_id: uuid.UUID,
    data: OnboardingLinkCreate,
) -> OnboardingLink:
    """A single-use link to Stripe's hosted onboarding of the organisation's account (administrators)."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    policy.organisation_admin(principal, organisation_id, visible=visible)
    account = await repository.account(conn, organisation_id)
    if account is None:
        raise NotFoundError("this organisation has no payment account; open one first")
    try:
        link = await require(client).v1.account_links.create_async(
            {
                "account": account.stripe_account_id,
                "type": "account_onboarding",
                "return_url": data.return_url,
                "refresh_url": data.refresh_url,
            }
        )
    except stripe.StripeError as exc:
        raise failure(exc) from exc
    return OnboardingLink(url=link.url, expires_at=datetime.fromtimestamp(link.expires_at, UTC))
