"""The frontend's scenario, through the generated Python client only.

One operation per lifecycle action (`publishListing`, `acceptTransfer`, ..., `completeReservation`,
with their request models `TransferAccept`, `TransferSchedule`, `TransferReceive`,
`TransferComplete`), `X-Organisation-ID` as a documented header parameter (`x_organisation_id`),
and the CSV import as a raw body or a form's file. `test_python_client.py` runs it.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.clients.conftest import Park
from tests.clients.generated import GeneratedClient, parsed

# Long enough for request, accept and confirm to happen before the period starts, short enough to
# wait for: the provider may complete a reservation only once it is in progress.
RESERVATION_LEAD = timedelta(seconds=4)
PICKUP = datetime(2026, 3, 2, 8, tzinfo=UTC)


class Scenario:
    def __init__(self, generated: GeneratedClient, url: str, park: Park) -> None:
        self.op = generated.operation
        self.m = generated.models
        self.file = generated.types.File
        self.park = park
        authenticated = generated.client.AuthenticatedClient
        self.alice = authenticated(base_url=url, token=park.alice.token)
        self.tom = authenticated(base_url=url, token=park.tom.token)
        self.olga = authenticated(base_url=url, token=park.olga.token)
        self.giver = str(park.giver)
        self.taker = str(park.taker)

    async def offer(self, **fields: Any) -> Any:
        """A listing of the giver's, created as a draft and published."""
        m = self.m
        draft = parsed(
            await self.op("listings.create_listing").asyncio_detailed(
                client=self.alice,
                x_organisation_id=self.giver,
                body=m.ListingCreate(
                    network_id=self.park.network, direction=m.ListingCreateDirection.OFFER, **fields
                ),
            ),
            201,
            m.Listing,
        )
        assert draft.status == m.ListingStatus.DRAFT
        published = parsed(
            await self.op("listings.publish_listing").asyncio_detailed(
                draft.id, client=self.alice, x_organisation_id=self.giver
            ),
            200,
            m.Listing,
        )
        assert (published.id, published.status) == (draft.id, m.ListingStatus.PUBLISHED)
        return published

    async def transfer_of_pallets(self) -> None:
        m, op, park = self.m, self.op, self.park
        pallets = await self.offer(
            category_id="testwood.pallets",
            title="Palettes Europe 80x120",
            description="Palettes en bon état, à venir chercher",
            unit="pallet",
            quantity="40",
        )
        assert pallets.available_quantity == "40.000"

        found = parsed(
            await op("search.search_listings").asyncio_detailed(
                client=self.tom, x_organisation_id=self.taker, q="palettes", network=[park.network]
            ),
            200,
            m.SearchResult,
        )
        assert [hit.id for hit in found.hits] == [pallets.id]
        assert (found.hits[0].organisation_name, found.hits[0].available_quantity) == (
            "Menuiserie Giver",
            "40.000",
        )

        asked = parsed(
            await op("transfers.create_transfer").asyncio_detailed(
                pallets.id,
                client=self.tom,
                x_organisation_id=self.taker,
                body=m.TransferCreate(quantity="10", message="Pour l'atelier"),
            ),
            201,
            m.Transfer,
        )
        assert (asked.status, asked.requested_quantity) == (m.TransferStatus.REQUESTED, "10.000")
        tid = asked.id

        accepted = parsed(
            await op("transfers.accept_transfer").asyncio_detailed(
                tid, client=self.alice, x_organisation_id=self.giver, body=m.TransferAccept(quantity="8")
            ),
            200,
            m.Transfer,
        )
        assert (accepted.status, accepted.agreed_quantity) == (m.TransferStatus.ACCEPTED, "8.000")
        assert "schedule" in accepted.allowed_actions

        scheduled = parsed(
            await op("transfers.schedule_transfer").asyncio_detailed(
                tid,
                client=self.tom,
                x_organisation_id=self.taker,
                body=m.TransferSchedule(
                    scheduled_for=PICKUP, transport_mode=m.TransferScheduleTransportMode.ROAD
                ),
            ),
            200,
            m.Transfer,
        )
        assert (scheduled.status, scheduled.scheduled_for) == (m.TransferStatus.SCHEDULED, PICKUP)
        # 0.1 degree of latitude between the two sites on earthdistance's sphere: 11.13 km.
        assert scheduled.distance_km == "11.13"

        dispatched = parsed(
            await op("transfers.dispatch_transfer").asyncio_detailed(
                tid, client=self.alice, x_organisation_id=self.giver
            ),
            200,
            m.Transfer,
        )
        assert dispatched.status == m.TransferStatus.IN_TRANSIT

        received = parsed(
            await op("transfers.receive_transfer").asyncio_detailed(
                tid,
                client=self.tom,
                x_organisation_id=self.taker,
                body=m.TransferReceive(received_quantity="8"),
            ),
            200,
            m.Transfer,
        )
        assert (received.status, received.received_quantity) == (m.TransferStatus.RECEIVED, "8.000")

        completed = parsed(
            await op("transfers.complete_transfer").asyncio_detailed(
                tid,
                client=self.tom,
                x_organisation_id=self.taker,
                body=m.TransferComplete(replaced_site_km="30", replaced_trips=2),
            ),
            200,
            m.Transfer,
        )
        assert (completed.status, completed.allowed_actions) == (m.TransferStatus.COMPLETED, [])
        # 8 pallets x 25 kg = 200 kg, x 0.5 kg CO2e/kg = 100 kg; 2 trips of 30 km.
        assert isinstance(completed.impact, m.TransferImpact)
        assert (completed.impact.mass_kg, completed.impact.trips_saved) == ("200.000", 2)

        report = parsed(
            await op("impact.get_network_impact").asyncio_detailed(park.network, client=self.olga),
            200,
            m.ImpactReport,
        )
        assert report.scope == m.ImpactReportScope.NETWORK
        assert (report.total.transfers, report.total.mass_kg) == (1, "200.000")
        assert (report.total.km_saved, report.total.trips_saved) == ("60.00", 2)

    async def booking_of_storage(self) -> None:
        m, op = self.m, self.op
        storage = await self.offer(
            category_id="teststorage",
            title="Entrepôt partagé, 50 m²",
            unit="m2",
            capacity="50",
        )

        start = datetime.now(UTC) + RESERVATION_LEAD
        booked = parsed(
            await op("reservations.create_reservation").asyncio_detailed(
                storage.id,
                client=self.tom,
                x_organisation_id=self.taker,
                body=m.ReservationCreate(start=start, end=start + timedelta(hours=1), quantity="10"),
            ),
            201,
            m.Reservation,
        )
        assert (booked.status, booked.quantity) == (m.ReservationStatus.REQUESTED, "10.000")
        assert booked.price_kind == m.ReservationPriceKind.FREE
        rid = booked.id

        accepted = parsed(
            await op("reservations.accept_reservation").asyncio_detailed(
                rid, client=self.alice, x_organisation_id=self.giver
            ),
            200,
            m.Reservation,
        )
        assert accepted.status == m.ReservationStatus.ACCEPTED
        confirmed = parsed(
            await op("reservations.confirm_reservation").asyncio_detailed(
                rid, client=self.tom, x_organisation_id=self.taker
            ),
            200,
            m.Reservation,
        )
        assert confirmed.status == m.ReservationStatus.CONFIRMED

        # The sweep does not run in tests; the provider's `complete` catches up the clock's `start`.
        await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 0.5)
        completed = parsed(
            await op("reservations.complete_reservation").asyncio_detailed(
                rid, client=self.alice, x_organisation_id=self.giver
            ),
            200,
            m.Reservation,
        )
        assert (completed.status, completed.allowed_actions) == (m.ReservationStatus.COMPLETED, [])
        assert [(e.action, e.to_status, e.actor_role) for e in completed.events] == [
            ("request", m.ReservationStatus.REQUESTED, "requester"),
            ("accept", m.ReservationStatus.ACCEPTED, "provider"),
            ("confirm", m.ReservationStatus.CONFIRMED, "requester"),
            ("start", m.ReservationStatus.IN_PROGRESS, "system"),
            ("complete", m.ReservationStatus.COMPLETED, "provider"),
        ]

    def import_of_listings(self) -> None:
        """The operator uploads a member's listings as a CSV body, then as a form's file.

        Through the generated *sync* functions: a `File` holds a binary stream, which httpx's async
        client cannot send as a raw body."""
        m, op, park = self.m, self.op, self.park
        imports = op("listings.import_listings")
        header = "siret,direction,category,title,unit,quantity,publish\n"
        raw = f"{header}{park.giver_siret},offer,testwood.pallets,Palettes importées,pallet,12,true\n"
        as_body = parsed(
            imports.sync_detailed(
                park.network,
                client=self.olga,
                body=self.file(payload=io.BytesIO(raw.encode()), mime_type="text/csv"),
            ),
            201,
            m.ImportResult,
        )
        assert (as_body.network_id, as_body.rows, as_body.created, as_body.published) == (
            park.network,
            1,
            1,
            1,
        )

        form = f"{header}{park.giver_siret},offer,testwood,Chutes de bois,kg,300,false\n"
        as_form = parsed(
            imports.sync_detailed(
                park.network,
                client=self.olga,
                body=m.ImportListingsFilesBody(
                    file=self.file(
                        payload=io.BytesIO(form.encode()), file_name="listings.csv", mime_type="text/csv"
                    )
                ),
            ),
            201,
            m.ImportResult,
        )
        assert (as_form.rows, as_form.created, as_form.published) == (1, 1, 0)
