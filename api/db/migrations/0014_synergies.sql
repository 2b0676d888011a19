-- Flows (a member's recurring inputs and outputs, collected by the operator) and synergies (what
-- detection proposes from them and from listings, followed through the funnel).

CREATE TABLE flows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    direction text NOT NULL CHECK (direction IN ('input', 'output')),
    category_id text NOT NULL REFERENCES categories (id),
    waste_code text REFERENCES waste_codes (code),
    description text NOT NULL DEFAULT '',
    quantity numeric(14, 3) NOT NULL CHECK (quantity > 0),
    unit text NOT NULL REFERENCES units (code),
    period text NOT NULL CHECK (period IN ('week', 'month', 'year')),
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    -- Months of the year (1-12) when the flow occurs; empty means all year.
    months smallint[] NOT NULL DEFAULT '{}' CHECK (months <@ '{1,2,3,4,5,6,7,8,9,10,11,12}'::smallint[]),
    destination text CHECK (destination IN ('landfill', 'incineration', 'recycling', 'reuse', 'other')),
    destination_cost_cents bigint CHECK (destination_cost_cents >= 0),
    visibility text NOT NULL DEFAULT 'operators' CHECK (visibility IN ('operators', 'partners')),
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A flow belongs to a member of the network.
    FOREIGN KEY (network_id, organisation_id) REFERENCES memberships (network_id, organisation_id)
        ON DELETE CASCADE
);
CREATE INDEX flows_network_idx ON flows (network_id, created_at DESC, id DESC);
CREATE INDEX flows_organisation_idx ON flows (organisation_id, created_at DESC, id DESC);
CREATE INDEX flows_detection_idx ON flows (network_id, direction, category_id text_pattern_ops);

CREATE TABLE synergies (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('substitution', 'pooling')),
    status text NOT NULL DEFAULT 'potential'
        CHECK (status IN ('potential', 'studied', 'in_progress', 'realised', 'abandoned', 'dismissed')),
    category_id text NOT NULL REFERENCES categories (id),
    organisation_ids uuid[] NOT NULL CHECK (cardinality(organisation_ids) >= 2),
    flow_ids uuid[] NOT NULL DEFAULT '{}',
    listing_ids uuid[] NOT NULL DEFAULT '{}',
    score numeric(5, 4) NOT NULL CHECK (score BETWEEN 0 AND 1),
    explanation jsonb NOT NULL,
    -- What detection saw (ids and versions of the flows and listings): detection proposes a
    -- fingerprint once, so a re-run proposes nothing new unless its inputs changed.
    fingerprint text NOT NULL,
    -- The same without the versions: which flows and listings, whatever their state.
    inputs_key text NOT NULL,
    abandon_reason text CHECK (abandon_reason IN
        ('regulation', 'distance', 'quality', 'quantity', 'cost', 'no_interest', 'other')),
    abandon_note text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, fingerprint),
    CHECK ((status = 'abandoned') = (abandon_reason IS NOT NULL))
);
CREATE INDEX synergies_network_idx ON synergies (network_id, created_at DESC, id DESC);
CREATE INDEX synergies_inputs_idx ON synergies (network_id, inputs_key);
CREATE INDEX synergies_organisations_idx ON synergies USING gin (organisation_ids);

CREATE TABLE synergy_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    synergy_id uuid NOT NULL REFERENCES synergies (id) ON DELETE CASCADE,
    action text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor_user_id uuid REFERENCES users (id),
    reason text,
    note text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX synergy_events_synergy_idx ON synergy_events (synergy_id, id);

CREATE TABLE synergy_notes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    synergy_id uuid NOT NULL REFERENCES synergies (id) ON DELETE CASCADE,
    organisation_id uuid REFERENCES organisations (id),
    author_user_id uuid NOT NULL REFERENCES users (id),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX synergy_notes_synergy_idx ON synergy_notes (synergy_id, created_at, id);

-- The transfers and reservations that carry a synergy out.
CREATE TABLE synergy_exchanges (
    synergy_id uuid NOT NULL REFERENCES synergies (id) ON DELETE CASCADE,
    transfer_id uuid UNIQUE REFERENCES transfers (id),
    reservation_id uuid UNIQUE REFERENCES reservations (id),
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((transfer_id IS NULL) <> (reservation_id IS NULL))
);
CREATE INDEX synergy_exchanges_synergy_idx ON synergy_exchanges (synergy_id);

-- The funnel's system step (api/synergies/lifecycle.py: in_progress -> realise -> realised): when a
-- linked exchange completes, in the same transaction as the completion, whoever completes it.
CREATE FUNCTION realise_synergies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH realised AS (
        UPDATE synergies s SET status = 'realised', version = s.version + 1, updated_at = now()
        FROM synergy_exchanges x
        WHERE x.synergy_id = s.id AND s.status = 'in_progress'
          AND (CASE WHEN TG_TABLE_NAME = 'transfers' THEN x.transfer_id ELSE x.reservation_id END) = NEW.id
        RETURNING s.id
    )
    INSERT INTO synergy_events (synergy_id, action, from_status, to_status)
    SELECT id, 'realise', 'in_progress', 'realised' FROM realised;
    RETURN NULL;
END $$;

CREATE TRIGGER transfers_realise_synergies AFTER UPDATE OF status ON transfers
    FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
    EXECUTE FUNCTION realise_synergies();
CREATE TRIGGER reservations_realise_synergies AFTER UPDATE OF status ON reservations
    FOR EACH ROW WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
    EXECUTE FUNCTION realise_synergies();
