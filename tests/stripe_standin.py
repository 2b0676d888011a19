"""A loopback stand-in for the part of Stripe's API Symbiose uses, for the real `stripe` library.

A real HTTP server on 127.0.0.1 (a thread) answering form-encoded `POST`s and `GET`s like Stripe:
accounts, account links, payment intents (create, retrieve, cancel), charges and disputes
(retrieve) and refunds. It keeps state, records every create with its `Idempotency-Key`, replays
the first answer to a key it has seen (as Stripe does), and builds webhook deliveries signed with
Stripe's scheme
(`Stripe-Signature: t=<time>,v1=<hex HMAC-SHA256(secret, "<time>.<payload>")>`).
Tests drive what Stripe's side would do (onboarding done, a card paying or declined, a refund
settling, a dispute) through its methods, and can make it stall an answer past the client's timeout after
doing the work.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Create:
    path: str
    idempotency_key: str | None
    params: dict[str, Any]


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`transfer_data[destination]=acct_1` → {"transfer_data": {"destination": "acct_1"}}."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


@dataclass
class StripeStandIn:
    webhook_secret: str = "whsec_standin"
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    creates: list[Create] = field(default_factory=list)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Idempotency-Key) of every request received."""
    stall_seconds: float = 0.0
    stalls_left: int = 0
    _replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                standin._serve(self, "GET")

            def do_POST(self) -> None:
                standin._serve(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- what Stripe's side does -------------------------------------------------------------
    def finish_onboarding(self, account_id: str) -> None:
        with self._lock:
            account = self.accounts[account_id]
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["requirements"] = {"currently_due": [], "eventually_due": [], "past_due": []}

    def pay(self, intent_id: str) -> None:
        with self._lock:
            intent = self.intents[intent_id]
            charge_id = f"ch_{next(self._ids):016d}"
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "amount_refunded": 0,
                "refunded": False,
                "payment_intent": intent_id,
            }
            intent.update(
                status="succeeded",
                last_payment_error=None,
                amount_received=intent["amount"],
                latest_charge=charge_id,
            )

    def dispute(self, intent_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        """The payer's bank disputes the charge; the `charge.dispute.created` snapshot is returned."""
        with self._lock:
            charge = self.intents[intent_id]["latest_charge"]
            dispute_id = f"dp_{next(self._ids):016d}"
            self.disputes[dispute_id] = {
                "id": dispute_id,
                "object": "dispute",
                "charge": charge,
                "payment_intent": intent_id,
                "amount": self.charges[charge]["amount"],
                "reason": reason,
                "status": "needs_response",
            }
            return dict(self.disputes[dispute_id])

    def settle_refund(self, refund_id: str) -> dict[str, Any]:
        """Stripe finishes a refund; the charge's `charge.refunded` snapshot is returned."""
        with self._lock:
            refund = self.refunds[refund_id]
            refund["status"] = "succeeded"
            charge = self.charges[refund["charge"]]
            charge["amount_refunded"] += refund["amount"]
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            return dict(charge)

    def decline(self, intent_id: str, message: str = "Your card was declined.") -> None:
        with self._lock:
            self.intents[intent_id].update(
                status="requires_payment_method",
                last_payment_error={"code": "card_declined", "message": message, "type": "card_error"},
            )

    def stall(self, seconds: float, times: int = 1) -> None:
        """Do the work of the next `times` requests, then wait `seconds` before answering."""
        self.stall_seconds, self.stalls_left = seconds, times

    def creates_on(self, path: str) -> list[Create]:
        return [c for c in self.creates if c.path == path]

    def delivery(
        self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None, at: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery of an event about `obj` (a snapshot, as Stripe sends), signed."""
        event = {
            "id": event_id or f"evt_{next(self._ids)}",
            "object": "event",
            "api_version": "2025-01-01",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
        payload = json.dumps(event).encode()
        return payload, self.sign(payload, at=at)

    def sign(self, payload: bytes, *, at: int | None = None, secret: str | None = None) -> dict[str, str]:
        timestamp = int(time.time()) if at is None else at
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new((secret or self.webhook_secret).encode(), signed, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={timestamp},v1={digest}", "Content-Type": "application/json"}

    # -- the API -----------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        params = _nest(parse_qsl(body or url.query, keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append((method, url.path, key))
            if method == "POST" and key is not None and key in self._replies:
                status, reply = self._replies[key]
            else:
                status, reply = self._route(method, url.path, params)
                if method == "POST" and key is not None:
                    self._replies[key] = (status, reply)
                    if status == 200:
                        self.creates.append(Create(url.path, key, params))
            stall = self.stall_seconds if self.stalls_left > 0 else 0.0
            self.stalls_left = max(0, self.stalls_left - 1)
        if stall:
            time.sleep(stall)
        data = json.dumps(reply).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Request-Id", f"req_{next(self._ids)}")
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout being tested)

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "accounts"]:
            if method == "POST" and len(parts) == 2:
                return 200, self._new_account(params)
            if method == "GET" and len(parts) == 3 and parts[2] in self.accounts:
                return 200, self.accounts[parts[2]]
        if parts == ["v1", "account_links"] and method == "POST":
            if params.get("account") not in self.accounts:
                return _missing("account", params.get("account"))
            return 200, {
                "object": "account_link",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
                "url": f"https://connect.stripe.com/setup/e/{params['account']}/{next(self._ids)}",
            }
        if parts[:2] == ["v1", "refunds"]:
            if method == "POST" and len(parts) == 2:
                return self._new_refund(params)
            if method == "GET" and len(parts) == 3 and parts[2] in self.refunds:
                return 200, self.refunds[parts[2]]
            return _missing("refund", parts[2] if len(parts) >= 3 else None)
        if parts[:2] == ["v1", "disputes"] and method == "GET" and len(parts) == 3:
            if parts[2] in self.disputes:
                return 200, self.disputes[parts[2]]
            return _missing("dispute", parts[2])
        if parts[:2] == ["v1", "charges"] and method == "GET" and len(parts) == 3:
            if parts[2] in self.charges:
                return 200, self.charges[parts[2]]
            return _missing("charge", parts[2])
        if parts[:2] == ["v1", "payment_intents"]:
            if method == "POST" and len(parts) == 2:
                return 200, self._new_intent(params)
            intent = self.intents.get(parts[2]) if len(parts) >= 3 else None
            if intent is None:
                return _missing("payment_intent", parts[2] if len(parts) >= 3 else None)
            if method == "GET" and len(parts) == 3:
                return 200, intent
            if method == "POST" and parts[3:] == ["cancel"]:
                if intent["status"] == "succeeded":
                    return 400, {"error": {"type": "invalid_request_error", "message": "already succeeded"}}
                intent.update(status="canceled", cancellation_reason=params.get("cancellation_reason"))
                return 200, intent
        return 404, {"error": {"type": "invalid_request_error", "message": f"no route {method} {path}"}}

    def _new_account(self, params: dict[str, Any]) -> dict[str, Any]:
        account_id = f"acct_{next(self._ids):016d}"
        self.accounts[account_id] = {
            "id": account_id,
            "object": "account",
            "type": params.get("type"),
            "country": params.get("country"),
            "metadata": params.get("metadata", {}),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "requirements": {
                "currently_due": ["external_account", "tos_acceptance.date"],
                "eventually_due": [],
                "past_due": [],
            },
        }
        return self.accounts[account_id]

    def _new_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return _missing("payment_intent", params.get("payment_intent"))
        charge = self.charges[intent["latest_charge"]]
        already = sum(r["amount"] for r in self.refunds.values() if r["charge"] == charge["id"])
        amount = int(params.get("amount", charge["amount"] - already))
        if amount > charge["amount"] - already:
            message = f"Refund amount ({amount}) is greater than unrefunded amount on charge"
            return 400, {
                "error": {"type": "invalid_request_error", "code": "amount_too_large", "message": message}
            }
        refund_id = f"re_{next(self._ids):016d}"
        self.refunds[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "status": "pending",
            "metadata": params.get("metadata", {}),
            "reverse_transfer": params.get("reverse_transfer"),
            "refund_application_fee": params.get("refund_application_fee"),
        }
        return 200, self.refunds[refund_id]

    def _new_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id = f"pi_{next(self._ids):016d}"
        destination = params.get("transfer_data", {}).get("destination")
        if destination not in self.accounts:
            return _missing("account", destination)[1]
        self.intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "application_fee_amount": int(params["application_fee_amount"])
            if "application_fee_amount" in params
            else None,
            "transfer_data": {"destination": destination},
            "on_behalf_of": params.get("on_behalf_of"),
            "metadata": params.get("metadata", {}),
            "client_secret": f"{intent_id}_secret_{next(self._ids)}",
            "status": "requires_payment_method",
            "last_payment_error": None,
            "amount_received": 0,
            "latest_charge": None,
            "livemode": False,
        }
        return self.intents[intent_id]


def _missing(kind: str, ident: Any) -> tuple[int, dict[str, Any]]:
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {kind}: {ident}",
        }
    }
