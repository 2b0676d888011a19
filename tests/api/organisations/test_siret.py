from __future__ import annotations

import pytest

from api.organisations.siret import siret_valid


@pytest.mark.parametrize(
    "siret",
    ["73282932000074", "44306184100047", "35600000000048", "35600000049837", "35600000000001"],
)
def test_valid_sirets(siret: str) -> None:
    assert siret_valid(siret)


@pytest.mark.parametrize(
    "siret",
    ["73282932000075", "44306184100048", "35600000049838", "1234567890123", "7328293200007a", ""],
)
def test_invalid_sirets(siret: str) -> None:
    assert not siret_valid(siret)
