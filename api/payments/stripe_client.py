"""The `stripe` library's async client, built once per app from settings, and its failures as problems.

Every call goes through `StripeClient` with its HTTPX client and the `*_async` methods, each with
an idempotency key derived from our ids (never the library's random one): a call retried, by the
library after a timeout or by a person after a 503, reaches Stripe with the same key and gets the
object the first attempt created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe
from litestar.datastructures import State
from stripe._base_address import BaseAddresses

from api.errors import AppError
from api.reservations.rules import PaymentsNotConfiguredError
from api.settings import Settings

TIMEOUT_S = 10.0
NETWORK_RETRIES = 2


class _HTTPXClient(stripe.HTTPXClient):
    """The library's HTTPX transport, handing HTTPX the form-encoded body it has already built as
    `content`. The library passes it as `data`, which HTTPX >= 0.25 reserves for a mapping to encode
    and, given bytes or text, deprecates (a DeprecationWarning on every POST)."""

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args: list[Any] = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs: dict[str, Any] = args[1]
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return args


class PaymentProviderUnavailableError(AppError):
    status, slug, title_text = 503, "payment-provider-unavailable", "The payment provider did not answer"


class PaymentProviderError(AppError):
    status, slug, title_text = 502, "payment-provider-error", "The payment provider refused the call"


def create_stripe(
    settings: Settings, *, timeout_s: float | None = None
) -> tuple[stripe.StripeClient, stripe.HTTPXClient] | None:
    """The client and its HTTPX transport (closed at shutdown) when payments are configured, else None."""
    if settings.stripe_api_key is None or not settings.payments_configured:
        return None
    bases: BaseAddresses = {}
    if settings.stripe_api_base is not None:
        base = settings.stripe_api_base.rstrip("/")
        bases = {"api": base, "connect": base}
    http = _HTTPXClient(timeout=timeout_s or TIMEOUT_S)
    client = stripe.StripeClient(
        settings.stripe_api_key, base_addresses=bases, http_client=http, max_network_retries=NETWORK_RETRIES
    )
    return client, http


def provide_stripe(state: State) -> stripe.StripeClient | None:
    """The app's Stripe client (None when payments are off)."""
    client: stripe.StripeClient | None = state.get("stripe")
    return client


def require(client: stripe.StripeClient | None) -> stripe.StripeClient:
    if client is None:
        raise PaymentsNotConfiguredError(
            "this server takes no payments (STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET are not set)"
        )
    return client


def failure(exc: stripe.StripeError) -> AppError:
    """The problem answered for a failed Stripe call: 503 when it may be retried, 502 otherwise."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentProviderUnavailableError(
            "Stripe could not be reached; retry: the retry reuses what the first attempt created",
            headers={"Retry-After": "5"},
        )
    message: Any = getattr(exc, "user_message", None) or str(exc)
    return PaymentProviderError(f"Stripe refused the call: {message}")
