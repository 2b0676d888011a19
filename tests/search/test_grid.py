"""The grid's split of a radius: what it takes whole is within, and nothing within is left out,
wherever the circle lies (the poles, the antimeridian, the equator)."""

from __future__ import annotations

import random

import pytest

from search.postgres.grid import CELL_DEGREES, Grid
from search.postgres.index import haversine_one
from search.query import Point


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(45.76, 4.84), (89.9, 20.0), (-89.95, -120.0), (0.01, 179.99), (-0.02, 0.0)]
)
def test_a_split_takes_only_what_is_within_and_leaves_out_nothing_within(
    latitude: float, longitude: float
) -> None:
    rng = random.Random(int(latitude * 1000 + longitude))
    points = [
        (
            max(-90.0, min(90.0, latitude + rng.uniform(-1.5, 1.5))),
            (longitude + rng.uniform(-3, 3) + 180) % 360 - 180,
        )
        for _ in range(20_000)
    ]
    grid = Grid()
    grid.add(0, [p[0] for p in points], [p[1] for p in points])
    taken = measured = 0
    for radius in (0.5, 5.0, 12.3, 50.0, 140.0):
        near = Point(latitude, longitude)
        inside, edge = grid.split(near, radius)
        assert not inside & edge
        for position, (lat, lon) in enumerate(points):
            km = haversine_one(lat, lon, near.latitude, near.longitude)
            if position in inside:
                assert km <= radius, (position, km, radius)
            elif km <= radius:
                assert position in edge, (position, km, radius)
        taken += len(inside)
        measured += len(edge)
    assert taken > measured  # the split spares measuring most of what is within


def test_cells_are_a_twentieth_of_a_degree() -> None:
    grid = Grid()
    grid.add(0, [45.0, 45.049, 45.051, -0.01], [4.0, 4.049, 4.0, -0.01])
    assert len(grid.bitmaps) == 3
    assert CELL_DEGREES == 0.05
    assert list(grid.bitmaps[0]) == [0, 1]
