// The frontend's side of the suite: openapi-fetch on the types openapi-typescript generates from
// openapi/openapi.json, through the same calls as the Python scenario (tests/clients/scenario.py).
// `tsc --noEmit --strict` proves the calls match the document; compiled and run with node, it
// drives a live server.
//
// Written, like the Python scenario, against the contract of issue 12: one operation per lifecycle
// action (`/v1/transfers/{transfer_id}/accept`, ...) and `X-Organisation-ID` as a documented header
// parameter.
//
// Input (environment): SYMBIOSE_URL, NETWORK_ID, GIVER_ID, GIVER_TOKEN, TAKER_ID, TAKER_TOKEN,
// OPERATOR_TOKEN.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

// The one thing of node's the script reads; declared here rather than checking all of @types/node.
declare const process: { env: Record<string, string | undefined> };

type Schemas = components["schemas"];
// Answers typed by their JSON media types only: the impact report is also served as text/csv.
type Json = `${string}/json`;
type Client = ReturnType<typeof createClient<paths, Json>>;

interface Park {
  url: string;
  network: string;
  giver: string;
  giverToken: string;
  taker: string;
  takerToken: string;
  operatorToken: string;
}

function equal<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

// The answer's body once its status is the expected one; `data` is typed by the document.
function ok<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  equal(result.response.status, status, `${result.response.url} ${JSON.stringify(result.error)}`);
  if (result.data === undefined) throw new Error(`${result.response.url}: no body`);
  return result.data;
}

function api(url: string, token: string): Client {
  return createClient<paths, Json>({ baseUrl: url, headers: { Authorization: `Bearer ${token}` } });
}

class Scenario {
  readonly alice: Client;
  readonly tom: Client;
  readonly olga: Client;
  // The acting organisation, as each member call documents it.
  readonly asGiver: { "X-Organisation-ID": string };
  readonly asTaker: { "X-Organisation-ID": string };

  constructor(readonly park: Park) {
    this.alice = api(park.url, park.giverToken);
    this.tom = api(park.url, park.takerToken);
    this.olga = api(park.url, park.operatorToken);
    this.asGiver = { "X-Organisation-ID": park.giver };
    this.asTaker = { "X-Organisation-ID": park.taker };
  }

  // A listing of the giver's, created as a draft and published.
  async offer(fields: Omit<Schemas["ListingCreate"], "network_id" | "direction">): Promise<Schemas["Listing"]> {
    const draft = ok(
      await this.alice.POST("/v1/listings", {
        params: { header: this.asGiver },
        body: { network_id: this.park.network, direction: "offer", ...fields },
      }),
      201,
    );
    equal(draft.status, "draft", "a new listing's status");
    const published = ok(
      await this.alice.POST("/v1/listings/{listing_id}/publish", {
        params: { path: { listing_id: draft.id }, header: this.asGiver },
      }),
      200,
    );
    equal(published.status, "published", "a published listing's status");
    return published;
  }

  async transferOfPallets(): Promise<void> {
    const pallets = await this.offer({
      category_id: "testwood.pallets",
      title: "Palettes Europe 80x120",
      unit: "pallet",
      quantity: "40",
    });

    const found = ok(
      await this.tom.GET("/v1/search/listings", {
        params: { query: { q: "palettes", network: [this.park.network] }, header: this.asTaker },
      }),
      200,
    );
    equal(found.hits.map((hit) => hit.id).join(), pallets.id, "the search's hits");

    const asked = ok(
      await this.tom.POST("/v1/listings/{listing_id}/transfers", {
        params: { path: { listing_id: pallets.id }, header: this.asTaker },
        body: { quantity: "10", message: "Pour l'atelier" },
      }),
      201,
    );
    equal(asked.status, "requested", "a new transfer's status");
    const transfer = { transfer_id: asked.id };

    const accepted = ok(
      await this.alice.POST("/v1/transfers/{transfer_id}/accept", {
        params: { path: transfer, header: this.asGiver },
        body: { quantity: "8" },
      }),
      200,
    );
    equal(accepted.agreed_quantity, "8.000", "the agreed quantity");

    const scheduled = ok(
      await this.tom.POST("/v1/transfers/{transfer_id}/schedule", {
        params: { path: transfer, header: this.asTaker },
        body: { scheduled_for: "2026-03-02T08:00:00Z", transport_mode: "road" },
      }),
      200,
    );
    equal(scheduled.status, "scheduled", "a scheduled transfer's status");

    const dispatched = ok(
      await this.alice.POST("/v1/transfers/{transfer_id}/dispatch", {
        params: { path: transfer, header: this.asGiver },
      }),
      200,
    );
    equal(dispatched.status, "in_transit", "a dispatched transfer's status");

    const received = ok(
      await this.tom.POST("/v1/transfers/{transfer_id}/receive", {
        params: { path: transfer, header: this.asTaker },
        body: { received_quantity: "8" },
      }),
      200,
    );
    equal(received.received_quantity, "8.000", "the received quantity");

    const completed = ok(
      await this.tom.POST("/v1/transfers/{transfer_id}/complete", {
        params: { path: transfer, header: this.asTaker },
        body: { replaced_site_km: "30", replaced_trips: 2 },
      }),
      200,
    );
    equal(completed.status, "completed", "a completed transfer's status");
    equal(completed.impact?.mass_kg, "200.000", "the transfer's mass diverted");

    const report = ok(
      await this.olga.GET("/v1/networks/{network_id}/impact", {
        params: { path: { network_id: this.park.network } },
      }),
      200,
    );
    equal(report.scope, "network", "the operator's report scope");
    equal(report.total.transfers, 1, "the transfers counted");
    equal(report.total.trips_saved, 2, "the trips saved");
  }

  async bookingOfStorage(): Promise<void> {
    const storage = await this.offer({
      category_id: "teststorage",
      title: "Entrepôt partagé, 50 m²",
      unit: "m2",
      capacity: "50",
    });

    // Soon enough to wait for: the provider completes a reservation once it is in progress.
    const start = new Date(Date.now() + 4000);
    const end = new Date(start.getTime() + 3600_000);
    const booked = ok(
      await this.tom.POST("/v1/listings/{listing_id}/reservations", {
        params: { path: { listing_id: storage.id }, header: this.asTaker },
        body: { start: start.toISOString(), end: end.toISOString(), quantity: "10" },
      }),
      201,
    );
    equal(booked.status, "requested", "a new reservation's status");
    const reservation = { reservation_id: booked.id };

    const accepted = ok(
      await this.alice.POST("/v1/reservations/{reservation_id}/accept", {
        params: { path: reservation, header: this.asGiver },
      }),
      200,
    );
    equal(accepted.status, "accepted", "an accepted reservation's status");

    const confirmed = ok(
      await this.tom.POST("/v1/reservations/{reservation_id}/confirm", {
        params: { path: reservation, header: this.asTaker },
      }),
      200,
    );
    equal(confirmed.status, "confirmed", "a confirmed reservation's status");

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start.getTime() - Date.now()) + 500));
    const completed = ok(
      await this.alice.POST("/v1/reservations/{reservation_id}/complete", {
        params: { path: reservation, header: this.asGiver },
      }),
      200,
    );
    equal(completed.status, "completed", "a completed reservation's status");
    equal(completed.events?.length, 5, "the reservation's events");
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const scenario = new Scenario({
  url: required("SYMBIOSE_URL"),
  network: required("NETWORK_ID"),
  giver: required("GIVER_ID"),
  giverToken: required("GIVER_TOKEN"),
  taker: required("TAKER_ID"),
  takerToken: required("TAKER_TOKEN"),
  operatorToken: required("OPERATOR_TOKEN"),
});
await scenario.transferOfPallets();
await scenario.bookingOfStorage();
console.log("scenario completed");
