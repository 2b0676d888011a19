-- Reservations of shared services (storage space, guarding, shared staff, equipment, vehicles,
-- training seats), their events, and the idempotency keys of their creation.

-- What a service listing promises about its bookings: how long the provider takes to answer
-- (and, once accepted, how long the requester has to confirm or pay), and the shortest and
-- longest period one reservation may cover.
ALTER TABLE listings
    ADD COLUMN response_time_hours integer NOT NULL DEFAULT 48
        CHECK (response_time_hours BETWEEN 1 AND 720),
    ADD COLUMN min_reservation_hours integer NOT NULL DEFAULT 1
        CHECK (min_reservation_hours BETWEEN 1 AND 8784),
    ADD COLUMN max_reservation_hours integer NOT NULL DEFAULT 8784
        CHECK (max_reservation_hours BETWEEN 1 AND 8784),
    ADD CONSTRAINT listings_reservation_length_check CHECK (min_reservation_hours <= max_reservation_hours);

CREATE TABLE reservations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks (id),
    listing_id uuid NOT NULL REFERENCES listings (id),
    provider_id uuid NOT NULL REFERENCES organisations (id),
    requester_id uuid NOT NULL REFERENCES organisations (id),
    status text NOT NULL CHECK (status IN ('requested', 'accepted', 'awaiting_payment', 'confirmed',
                                           'in_progress', 'completed', 'declined', 'cancelled', 'expired')),
    -- Half-open [start, end), never empty nor unbounded.
    period tstzrange NOT NULL CHECK (NOT isempty(period) AND lower_inc(period) AND NOT upper_inc(period)
                                     AND NOT lower_inf(period) AND NOT upper_inf(period)),
    quantity numeric(14, 3) NOT NULL CHECK (quantity > 0),
    -- Copied from the listing when asked, so the record stays true if the listing changes.
    unit text NOT NULL REFERENCES units (code),
    price_kind text NOT NULL,
    message text NOT NULL DEFAULT '',
    -- When the clock moves a `requested`, `accepted` or `awaiting_payment` reservation to `expired`.
    expires_at timestamptz,
    reason text,
    cancelled_by text CHECK (cancelled_by IN ('requester', 'provider', 'operator')),
    -- The statuses whose capacity counts against the listing's.
    holds boolean GENERATED ALWAYS AS
        (status IN ('accepted', 'awaiting_payment', 'confirmed', 'in_progress')) STORED,
    -- Set when the reservation took the whole capacity of the listing (always so at capacity 1):
    -- two such reservations can never overlap, whatever the code above does.
    whole boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (requester_id <> provider_id),
    CHECK (status <> 'cancelled' OR (cancelled_by IS NOT NULL AND reason IS NOT NULL)),
    CONSTRAINT reservations_no_overbooking EXCLUDE USING gist (listing_id WITH =, period WITH &&)
        WHERE (holds AND whole)
);
CREATE INDEX reservations_requester_idx ON reservations (requester_id, created_at DESC, id DESC);
CREATE INDEX reservations_provider_idx ON reservations (provider_id, created_at DESC, id DESC);
CREATE INDEX reservations_network_idx ON reservations (network_id, created_at DESC, id DESC);
CREATE INDEX reservations_held_idx ON reservations USING gist (listing_id, period) WHERE holds;
CREATE INDEX reservations_due_idx ON reservations (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX reservations_clock_idx ON reservations (status, period)
    WHERE status IN ('confirmed', 'in_progress');

CREATE TABLE reservation_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    action text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor_user_id uuid REFERENCES users (id),
    -- requester, provider, operator, or system (the sweep)
    actor_role text NOT NULL,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservation_events_reservation_idx ON reservation_events (reservation_id, id);

-- A retried creation with the same key returns the first reservation (as for transfers).
CREATE TABLE reservation_idempotency_keys (
    user_id uuid NOT NULL REFERENCES users (id),
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL,
    reservation_id uuid REFERENCES reservations (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
