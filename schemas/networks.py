"""Networks (territorial programmes) and their zones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.types import LONG_TEXT_PATTERN, SHORT_TEXT_PATTERN, Radius

Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90, description="WGS 84 latitude", examples=[45.7578])]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180, description="WGS 84 longitude", examples=[4.832])]
Slug = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(?![\s\S])", max_length=64, examples=["vallee-de-la-chimie"]
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=SHORT_TEXT_PATTERN)]
Description = Annotated[str, msgspec.Meta(max_length=5000, pattern=LONG_TEXT_PATTERN)]
RadiusKm = Annotated[Radius, msgspec.Meta(description="Radius of the zone in km")]
ZoneKind = Literal["business_park", "commune", "district", "other"]


class Network(Schema):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    latitude: float
    longitude: float
    version: int
    created_at: datetime
    updated_at: datetime


class NetworkCreate(Input):
    slug: Slug
    name: Name
    latitude: Latitude
    longitude: Longitude
    description: Description = ""


class NetworkUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET


class Zone(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    name: str
    kind: ZoneKind
    latitude: float
    longitude: float
    radius_km: float
    created_at: datetime


class ZoneCreate(Input):
    name: Name
    kind: ZoneKind
    latitude: Latitude
    longitude: Longitude
    radius_km: RadiusKm


class OperatorGrant(Input):
    user_id: uuid.UUID
