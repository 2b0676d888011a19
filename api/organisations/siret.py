"""SIRET numbers: 14 digits whose Luhn checksum holds, with La Poste's documented exception."""

from __future__ import annotations

LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_valid(siret: str) -> bool:
    """La Poste's thousands of establishments share one SIREN, so INSEE checks theirs by digit sum
    modulo 5 instead of Luhn (its head office, 356 000 000 00048, passes Luhn as well)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN) and sum(int(c) for c in siret) % 5 == 0:
        return True
    return luhn_valid(siret)
