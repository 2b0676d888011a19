"""Bounds on what one request may take: its body, its head, its time.

- Body: `JSON_MAX_BODY_BYTES` for every operation (Litestar's `request_max_body_size` on the app),
  `CSV_MAX_BODY_BYTES` for the CSV import; past it, 413 `payload-too-large`, checked on the
  announced `Content-Length` before reading and on the bytes actually received.
- Head (request line and headers): `MAX_HEAD_BYTES`, enforced by the server protocol in
  `api.http_protocol`, before the application sees anything (431 `headers-too-large`).
- Time: `REQUEST_TIMEOUT_SECONDS` from arrival to the start of the answer (503 with `Retry-After`,
  enforced by `api.admission`), and `statement_timeout` on every PostgreSQL session (`api.db.pool`).
"""

from __future__ import annotations

JSON_MAX_BODY_BYTES = 1024 * 1024
CSV_MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_HEAD_BYTES = 32 * 1024
TIMEOUT_RETRY_AFTER_S = 5
