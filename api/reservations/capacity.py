"""Free capacity over time: pure arithmetic on half-open intervals, shared by booking and availability."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Held:
    """Capacity `quantity` held over `[start, end)`."""

    start: datetime
    end: datetime
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Free:
    start: datetime
    end: datetime
    free: Decimal


def free_intervals(capacity: Decimal, held: Iterable[Held], start: datetime, end: datetime) -> list[Free]:
    """The free capacity over `[start, end)`, as consecutive intervals whose neighbours differ.

    A sweep over the boundaries: at each instant a holding starts its quantity is added, at each
    instant one ends it is removed, so `[a, b)` and `[b, c)` never count together."""
    if end <= start:
        return []
    deltas: dict[datetime, Decimal] = {start: Decimal(0), end: Decimal(0)}
    used = Decimal(0)
    for h in held:
        if h.end <= start or h.start >= end:
            continue
        if h.start <= start:
            used += h.quantity
        else:
            deltas[h.start] = deltas.get(h.start, Decimal(0)) + h.quantity
        if h.end < end:
            deltas[h.end] = deltas.get(h.end, Decimal(0)) - h.quantity
    result: list[Free] = []
    instants = sorted(deltas)
    for i, at in enumerate(instants[:-1]):
        if at != start:
            used += deltas[at]
        free = capacity - used
        if result and result[-1].free == free:
            result[-1] = Free(result[-1].start, instants[i + 1], free)
        else:
            result.append(Free(at, instants[i + 1], free))
    return result


def min_free(capacity: Decimal, held: Iterable[Held], start: datetime, end: datetime) -> Decimal:
    """The least capacity free at any instant of `[start, end)`."""
    intervals = free_intervals(capacity, held, start, end)
    return min((i.free for i in intervals), default=capacity)


def peak(held: Iterable[Held]) -> Decimal:
    """The most capacity held at any one instant."""
    spans = list(held)
    if not spans:
        return Decimal(0)
    start, end = min(h.start for h in spans), max(h.end for h in spans)
    return -min_free(Decimal(0), spans, start, end)
