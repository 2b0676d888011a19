"""The index's positions by cell of a latitude/longitude grid, so that a radius filter measures only
the listings of the cells its circle crosses: the cells wholly inside are taken as they are, those
wholly outside left out (search/postgres/index.py `SearchIndex.search`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from pyroaring import BitMap

from search.postgres.repository import EARTH_RADIUS_KM
from search.query import Point

CELL_DEGREES: Final = 0.05
"""About 5.6 km north to south and 3.7 km east to west in France: a radius of 5 to 50 km crosses
tens to a few hundred cells."""
# Kilometres a cell's classification allows for the rounding of the distances it compares: far more
# than float64 errors on these magnitudes, far less than a cell.
_SLACK_KM: Final = 1e-6
_HALF_CELL: Final = math.radians(CELL_DEGREES / 2)


class Grid:
    def __init__(self) -> None:
        self.cell_of: dict[tuple[int, int], int] = {}
        self.rows: list[int] = []
        self.columns: list[int] = []
        self.bitmaps: list[BitMap] = []
        """The positions of each cell (stale ones included: AND with the live positions)."""
        self._geometry: tuple[npt.NDArray[np.float64], ...] | None = None

    def add(self, start: int, latitudes: Sequence[float], longitudes: Sequence[float]) -> None:
        found: dict[int, list[int]] = {}
        for offset, (latitude, longitude) in enumerate(zip(latitudes, longitudes, strict=True)):
            key = (math.floor(latitude / CELL_DEGREES), math.floor(longitude / CELL_DEGREES))
            cell = self.cell_of.get(key)
            if cell is None:
                cell = self.cell_of[key] = len(self.bitmaps)
                self.rows.append(key[0])
                self.columns.append(key[1])
                self.bitmaps.append(BitMap())
                self._geometry = None
            found.setdefault(cell, []).append(start + offset)
        for cell, positions in found.items():
            self.bitmaps[cell].update(positions)

    def split(self, near: Point, radius_km: float) -> tuple[BitMap, BitMap]:
        """(the positions surely within `radius_km` of `near`, those that must be measured): every
        position within the radius is in one of them. A point's distance to `near` is at most its
        cell centre's plus the cell's reach, and at least the centre's minus the reach."""
        latitudes, longitudes, reaches = self._cells()
        distances = _haversine_km(latitudes, longitudes, near.latitude, near.longitude)
        inside = distances + reaches + _SLACK_KM < radius_km
        edge = ~inside & (distances - reaches - _SLACK_KM <= radius_km)
        return _union(self.bitmaps, inside), _union(self.bitmaps, edge)

    def _cells(self) -> tuple[npt.NDArray[np.float64], ...]:
        """Each cell's centre and its reach: how far from the centre a point of the cell can be."""
        if self._geometry is None:
            rows = np.array(self.rows, dtype=np.float64)
            columns = np.array(self.columns, dtype=np.float64)
            south, north = rows * CELL_DEGREES, (rows + 1) * CELL_DEGREES
            # The parallel nearest the equator, where a degree of longitude is longest.
            nearest = np.where((south <= 0) & (north >= 0), 0.0, np.minimum(np.abs(south), np.abs(north)))
            # hav(d) = hav(dlat) + cos(lat1) cos(lat2) hav(dlon), each cosine at most that parallel's.
            haversine = (
                np.sin(_HALF_CELL / 2) ** 2 + np.cos(np.radians(nearest)) * np.sin(_HALF_CELL / 2) ** 2
            )
            reaches = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(haversine)) * (1 + 1e-9)
            self._geometry = ((south + north) / 2, (columns + 0.5) * CELL_DEGREES, reaches)
        return self._geometry


def _haversine_km(
    latitudes: npt.NDArray[np.float64], longitudes: npt.NDArray[np.float64], lat0: float, lon0: float
) -> npt.NDArray[np.float64]:
    lat, lon = np.radians(latitudes), np.radians(longitudes)
    a = (
        np.sin((lat - math.radians(lat0)) / 2) ** 2
        + math.cos(math.radians(lat0)) * np.cos(lat) * np.sin((lon - math.radians(lon0)) / 2) ** 2
    )
    result: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))
    return result


def _union(bitmaps: list[BitMap], chosen: npt.NDArray[np.bool_]) -> BitMap:
    picked = [bitmaps[i] for i in np.flatnonzero(chosen)]
    if not picked:
        return BitMap()
    return BitMap.union(*picked)
