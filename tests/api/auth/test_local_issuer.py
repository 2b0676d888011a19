"""The local issuer: `symbiose token` and the server agree on `iss` whatever address either is given."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner
from joserfc import jwt
from litestar.testing import AsyncTestClient

from api.auth.tokens import LOCAL_ISSUER, LocalIssuer
from api.cli import main
from api.observability import RequestContext
from api.settings import Settings


def _cli_token(data_dir: str, **env: str) -> str:
    result = CliRunner().invoke(
        main, ["token", "--email", "nadia@atelier.fr"], env={"SYMBIOSE_DATA_DIR": data_dir, **env}
    )
    assert result.exit_code == 0, result.output
    return result.output.strip()


async def test_a_cli_token_from_a_shell_with_another_port_and_url_is_accepted(
    client: AsyncTestClient[RequestContext], settings: Settings
) -> None:
    assert settings.symbiose_port == 8000
    for env in (
        {"SYMBIOSE_PORT": "9123"},
        {"SYMBIOSE_HOST": "0.0.0.0", "SYMBIOSE_PORT": "8001"},
        {"SYMBIOSE_PUBLIC_URL": "https://symbiose.example.org"},
    ):
        token = _cli_token(settings.symbiose_data_dir, **env)
        assert jwt.decode(token, LocalIssuer.from_settings(settings)._key).claims["iss"] == LOCAL_ISSUER
        me = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
        assert me.status_code == 200, (env, me.text)
        assert me.json()["email"] == "nadia@atelier.fr"


async def test_a_token_from_another_issuer_is_401_naming_the_expected_one_and_how_to_mint_it(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    now = int(time.time())
    claims = {"iss": "http://127.0.0.1:8000", "aud": issuer.audience, "sub": "x", "iat": now, "exp": now + 60}
    token = jwt.encode({"alg": "ES256", "kid": issuer._key.kid}, claims, issuer._key, algorithms=["ES256"])
    response = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert f"expected {LOCAL_ISSUER!r}, got 'http://127.0.0.1:8000'" in detail
    assert "symbiose token --email" in detail


async def test_a_token_signed_in_another_data_dir_is_401_saying_which_dir_to_mint_from(
    client: AsyncTestClient[RequestContext], tmp_path: Path
) -> None:
    token = _cli_token(str(tmp_path / "elsewhere"))
    response = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "does not publish" in response.json()["detail"]
    assert "SYMBIOSE_DATA_DIR" in response.json()["detail"]


async def test_the_discovery_document_names_the_fixed_issuer_and_keys_where_they_are_served(
    client: AsyncTestClient[RequestContext],
) -> None:
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == LOCAL_ISSUER
    assert discovery["jwks_uri"] == f"{client.base_url}/.well-known/jwks.json"
    assert (await client.get(discovery["jwks_uri"])).status_code == 200
