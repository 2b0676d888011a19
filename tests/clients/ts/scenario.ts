// The frontend's side of the suite: openapi-fetch on the types openapi-typescript generates from
// openapi/openapi.json, through the same calls as the Python scenario. `tsc --noEmit --strict`
// proves the calls match the document; run with node (after tsc), it drives a live server.
//
// Input (environment): SYMBIOSE_URL, NETWORK_ID, GIVER_ID, GIVER_TOKEN, TAKER_ID, TAKER_TOKEN,
// OPERATOR_TOKEN.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

// The one thing of node's the script reads; declared here rather than checking all of @types/node.
declare const process: { env: Record<string, string | undefined> };

type Schemas = components["schemas"];

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

function api(url: string, token: string, organisation?: string) {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (organisation !== undefined) headers["X-Organisation-ID"] = organisation;
  return createClient<paths>({ baseUrl: url, headers });
}

export async function transferOfPallets(park: Park): Promise<void> {
  const giver = api(park.url, park.giverToken, park.giver);
  const taker = api(park.url, park.takerToken, park.taker);
  const operator = api(park.url, park.operatorToken);

  const draft: Schemas["Listing"] = ok(
    await giver.POST("/v1/listings", {
      body: {
        network_id: park.network,
        direction: "offer",
        category_id: "testwood.pallets",
        title: "Palettes Europe 80x120 (TS)",
        unit: "pallet",
        quantity: "40",
      },
    }),
    201,
  );
  equal(draft.status, "draft", "draft.status");

  const published = ok(
    await giver.POST("/v1/listings/{listing_id}/{action}", {
      params: { path: { listing_id: draft.id, action: "publish" } },
    }),
    200,
  );
  equal(published.status, "published", "published.status");

  const found = ok(
    await taker.GET("/v1/search/listings", { params: { query: { q: "palettes", network: [park.network] } } }),
    200,
  );
  equal(found.hits.some((hit) => hit.id === draft.id), true, "found.hits.some((hit) => hit.id === draft.id)");

  const asked = ok(
    await taker.POST("/v1/listings/{listing_id}/transfers", {
      params: { path: { listing_id: draft.id } },
      body: { quantity: "10", message: "Pour l'atelier" },
    }),
    201,
  );
  equal(asked.status, "requested", "asked.status");

  const act = async (
    client: typeof giver,
    action: "accept" | "schedule" | "dispatch" | "receive" | "complete",
    body: Schemas["TransferActionBody"],
  ): Promise<Schemas["Transfer"]> =>
    ok(
      await client.POST("/v1/transfers/{transfer_id}/{action}", {
        params: { path: { transfer_id: asked.id, action } },
        body,
      }),
      200,
    );

  equal((await act(giver, "accept", { quantity: "8" })).agreed_quantity, "8.000", "(await act(giver, 'accept', { quantity: '8' })).agreed_quantity");
  const scheduled = await act(taker, "schedule", {
    scheduled_for: "2026-03-02T08:00:00Z",
    transport_mode: "road",
  });
  equal(scheduled.status, "scheduled", "scheduled.status");
  equal((await act(giver, "dispatch", {})).status, "in_transit", "(await act(giver, 'dispatch', {})).status");
  equal((await act(taker, "receive", { received_quantity: "8" })).received_quantity, "8.000", "(await act(taker, 'receive', { received_quantity: '8' })).received_quantity");
  const completed = await act(taker, "complete", { replaced_site_km: "30", replaced_trips: 2 });
  equal(completed.status, "completed", "completed.status");
  equal(completed.impact?.trips_saved, 2, "completed.impact?.trips_saved");

  const report = ok(
    await operator.GET("/v1/networks/{network_id}/impact", { params: { path: { network_id: park.network } } }),
    200,
  );
  equal(report.scope, "network", "report.scope");
  equal(report.total.transfers >= 1, true, "report.total.transfers >= 1");
}

export async function bookingOfStorage(park: Park): Promise<void> {
  const provider = api(park.url, park.giverToken, park.giver);
  const requester = api(park.url, park.takerToken, park.taker);

  const storage = ok(
    await provider.POST("/v1/listings", {
      body: {
        network_id: park.network,
        direction: "offer",
        category_id: "teststorage",
        title: "Entrepôt partagé, 50 m² (TS)",
        unit: "m2",
        capacity: "50",
        capacity_period: "month",
      },
    }),
    201,
  );
  ok(
    await provider.POST("/v1/listings/{listing_id}/{action}", {
      params: { path: { listing_id: storage.id, action: "publish" } },
    }),
    200,
  );

  const start = new Date(Date.now() + 4000);
  const end = new Date(start.getTime() + 3600_000);
  const booked = ok(
    await requester.POST("/v1/listings/{listing_id}/reservations", {
      params: { path: { listing_id: storage.id } },
      body: { start: start.toISOString(), end: end.toISOString(), quantity: "10" },
    }),
    201,
  );
  equal(booked.status, "requested", "booked.status");

  const act = async (
    client: typeof provider,
    action: "accept" | "confirm" | "complete",
  ): Promise<Schemas["Reservation"]> =>
    ok(
      await client.POST("/v1/reservations/{reservation_id}/{action}", {
        params: { path: { reservation_id: booked.id, action } },
        body: {},
      }),
      200,
    );

  equal((await act(provider, "accept")).status, "accepted", "(await act(provider, 'accept')).status");
  equal((await act(requester, "confirm")).status, "confirmed", "(await act(requester, 'confirm')).status");
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start.getTime() - Date.now()) + 500));
  const completed = await act(provider, "complete");
  equal(completed.status, "completed", "completed.status");
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const park: Park = {
    url: required("SYMBIOSE_URL"),
    network: required("NETWORK_ID"),
    giver: required("GIVER_ID"),
    giverToken: required("GIVER_TOKEN"),
    taker: required("TAKER_ID"),
    takerToken: required("TAKER_TOKEN"),
    operatorToken: required("OPERATOR_TOKEN"),
  };
  await transferOfPallets(park);
  await bookingOfStorage(park);
  console.log("scenario completed");
}

await main();
