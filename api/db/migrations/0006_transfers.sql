-- Transfers of resources between members, their events, their counted impact, and the
-- idempotency keys of their creation. (Renumber to 0007 on merge: 0006 is taken on main.)

CREATE TABLE transfers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks (id),
    -- The offer the material comes from, and the need it answers when a giver proposed it.
    listing_id uuid NOT NULL REFERENCES listings (id),
    need_listing_id uuid REFERENCES listings (id),
    giver_id uuid NOT NULL REFERENCES organisations (id),
    taker_id uuid NOT NULL REFERENCES organisations (id),
    initiated_by text NOT NULL CHECK (initiated_by IN ('giver', 'taker')),
    -- Copied from the offer when the transfer is asked, so the record stays true if it changes.
    category_id text NOT NULL REFERENCES categories (id),
    unit text NOT NULL REFERENCES units (code),
    waste_code text REFERENCES waste_codes (code),
    hazardous boolean NOT NULL DEFAULT false,
    status text NOT NULL CHECK (status IN ('requested', 'accepted', 'scheduled', 'in_transit', 'received',
                                           'completed', 'declined', 'cancelled', 'disputed')),
    requested_quantity numeric(14, 3) NOT NULL CHECK (requested_quantity > 0),
    agreed_quantity numeric(14, 3) CHECK (agreed_quantity > 0),
    received_quantity numeric(14, 3) CHECK (received_quantity >= 0),
    refused_quantity numeric(14, 3) CHECK (refused_quantity >= 0),
    refusal_reason text,
    message text NOT NULL DEFAULT '',
    scheduled_for timestamptz,
    transport_mode text CHECK (transport_mode IN ('road', 'rail', 'waterway', 'cargo_bike', 'on_foot', 'pipe')),
    vehicle_type text,
    distance_km numeric(9, 2) CHECK (distance_km >= 0),
    carrier text,
    tracking_form_ref text,
    -- What the exchange replaced, as the members say: the trip to a landfill or treatment site.
    replaced_site_km numeric(9, 2) CHECK (replaced_site_km >= 0),
    replaced_trips integer CHECK (replaced_trips >= 0),
    reason text,
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (giver_id <> taker_id),
    CHECK (agreed_quantity IS NULL OR agreed_quantity <= requested_quantity),
    CHECK (refused_quantity IS NULL OR refused_quantity <= received_quantity),
    CHECK (coalesce(refused_quantity, 0) = 0 OR refusal_reason IS NOT NULL),
    -- Hazardous waste never moves without its tracking form (BSD) and a named carrier.
    CHECK (NOT hazardous OR status IN ('requested', 'accepted', 'scheduled', 'declined', 'cancelled')
           OR (tracking_form_ref IS NOT NULL AND carrier IS NOT NULL))
);
CREATE INDEX transfers_giver_idx ON transfers (giver_id, created_at DESC, id DESC);
CREATE INDEX transfers_taker_idx ON transfers (taker_id, created_at DESC, id DESC);
CREATE INDEX transfers_network_idx ON transfers (network_id, created_at DESC, id DESC);
CREATE INDEX transfers_listing_idx ON transfers (listing_id);

CREATE TABLE transfer_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id uuid NOT NULL REFERENCES transfers (id) ON DELETE CASCADE,
    action text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor_user_id uuid REFERENCES users (id),
    actor_role text,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfer_events_transfer_idx ON transfer_events (transfer_id, id);

-- The impact of a completed transfer, counted once (the primary key) with the factors it used.
CREATE TABLE transfer_impacts (
    transfer_id uuid PRIMARY KEY REFERENCES transfers (id),
    network_id uuid NOT NULL REFERENCES networks (id),
    zone_id uuid REFERENCES zones (id),
    giver_id uuid NOT NULL REFERENCES organisations (id),
    taker_id uuid NOT NULL REFERENCES organisations (id),
    category_id text NOT NULL REFERENCES categories (id),
    quantity numeric(14, 3) NOT NULL CHECK (quantity >= 0),
    unit text NOT NULL,
    kg_per_unit numeric(14, 6),
    mass_kg numeric(16, 3),
    co2e_kg_per_kg numeric(10, 4),
    factor_source text,
    co2e_avoided_kg numeric(16, 3),
    km_saved numeric(12, 2),
    trips_saved integer,
    completed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfer_impacts_network_idx ON transfer_impacts (network_id, completed_at);

-- A retried creation with the same key returns the first result: the key is taken first, in the
-- creating transaction, so a concurrent retry waits on it and then finds the transfer.
CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL REFERENCES users (id),
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL,
    transfer_id uuid REFERENCES transfers (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
