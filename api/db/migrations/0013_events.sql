-- The public event feed and the webhooks that push it.
--
-- Every lifecycle step already inserts a row into its resource's `*_events` table in the
-- transaction that makes the change. A trigger on those tables writes the public event beside it,
-- in the same transaction: the resource as it is after the change, the values it had before (from
-- the previous public event of that resource), who acted and the request id.
--
-- `sequence_id` is NOT handed out when the row is inserted: like outbox ids (see 0009), such a
-- number could commit after a higher one and a reader following `after=` would skip it for ever.
-- The sequencer (api/events/repository.py `sequence_pending`) numbers, under the lock of the single
-- `event_sequencer` row, only the events whose transaction is older than its snapshot's xmin, in
-- (txid, position) order: every such transaction has ended, so no unnumbered event can appear later
-- below that horizon, and each numbering commits before the next one starts. Numbers therefore
-- become visible in increasing order and never below one already seen.
CREATE TABLE events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    position bigint GENERATED ALWAYS AS IDENTITY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    sequence_id bigint UNIQUE,
    type text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    resource_type text NOT NULL,
    resource_id uuid NOT NULL,
    resource jsonb NOT NULL,
    previous_values jsonb NOT NULL DEFAULT '{}',
    actor_user_id uuid,
    actor_organisation_id uuid,
    actor_role text,
    request_id text,
    -- Who may see it: operators of `network_id`, and the organisations in `parties`.
    network_id uuid,
    parties uuid[] NOT NULL DEFAULT '{}'
);
CREATE INDEX events_unsequenced_idx ON events (txid, position) WHERE sequence_id IS NULL;
CREATE INDEX events_occurred_idx ON events (occurred_at);
CREATE INDEX events_resource_idx ON events (resource_id, position DESC);
CREATE INDEX events_network_idx ON events (network_id, sequence_id);
CREATE INDEX events_parties_idx ON events USING gin (parties);

CREATE TABLE event_sequencer (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_sequence bigint NOT NULL DEFAULT 0
);
INSERT INTO event_sequencer DEFAULT VALUES;

-- The stable public name of a step: `<resource>.<status reached>`, except where the status alone
-- would not say what happened.
CREATE FUNCTION event_type(resource_type text, from_status text, to_status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT resource_type || '.' || CASE
        WHEN resource_type = 'listing' AND from_status IS NULL THEN 'created'
        WHEN resource_type = 'listing' AND to_status = 'draft' THEN 'unpublished'
        WHEN resource_type = 'membership' AND to_status = 'pending' THEN 'requested'
        WHEN resource_type = 'membership' AND to_status = 'active' AND from_status = 'suspended'
            THEN 'reinstated'
        WHEN resource_type = 'membership' AND to_status = 'active' THEN 'approved'
        ELSE to_status
    END
$$;

CREATE FUNCTION record_public_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    state jsonb;
    before jsonb;
    changed jsonb;
    role text;
    organisation uuid;
    network uuid;
    parties uuid[];
    target uuid;
BEGIN
    IF kind = 'listing' THEN
        target := NEW.listing_id;
        SELECT to_jsonb(l) - 'search_document' - 'search_title' - 'member_active' - 'organisation_ess',
               l.network_id, ARRAY[l.organisation_id]
          INTO state, network, parties FROM listings l WHERE l.id = target;
        role := CASE WHEN NEW.actor_user_id IS NULL THEN 'system' ELSE 'owner' END;
        organisation := CASE WHEN role = 'owner' THEN parties[1] END;
    ELSIF kind = 'transfer' THEN
        target := NEW.transfer_id;
        SELECT to_jsonb(t), t.network_id, ARRAY[t.giver_id, t.taker_id],
               CASE NEW.actor_role WHEN 'giver' THEN t.giver_id WHEN 'taker' THEN t.taker_id END
          INTO state, network, parties, organisation FROM transfers t WHERE t.id = target;
        role := coalesce(NEW.actor_role, CASE WHEN NEW.actor_user_id IS NULL THEN 'system' END);
    ELSIF kind = 'reservation' THEN
        target := NEW.reservation_id;
        SELECT to_jsonb(r) - 'holds', r.network_id, ARRAY[r.provider_id, r.requester_id],
               CASE NEW.actor_role WHEN 'provider' THEN r.provider_id WHEN 'requester' THEN r.requester_id END
          INTO state, network, parties, organisation FROM reservations r WHERE r.id = target;
        role := NEW.actor_role;
    ELSE
        target := NEW.membership_id;
        SELECT to_jsonb(m), m.network_id, ARRAY[m.organisation_id]
          INTO state, network, parties FROM memberships m WHERE m.id = target;
        role := CASE WHEN NEW.action = 'request' THEN 'member' ELSE 'operator' END;
        organisation := CASE WHEN role = 'member' THEN parties[1] END;
    END IF;

    SELECT e.resource INTO before FROM events e
     WHERE e.resource_id = target ORDER BY e.position DESC LIMIT 1;
    IF before IS NULL THEN
        changed := CASE WHEN NEW.from_status IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object('status', NEW.from_status) END;
    ELSE
        SELECT coalesce(jsonb_object_agg(b.key, b.value), '{}'::jsonb) INTO changed
          FROM jsonb_each(before) b
         WHERE state -> b.key IS DISTINCT FROM b.value;
    END IF;

    INSERT INTO events (type, occurred_at, resource_type, resource_id, resource, previous_values,
                        actor_user_id, actor_organisation_id, actor_role, request_id, network_id, parties)
    VALUES (event_type(kind, NEW.from_status, NEW.to_status), NEW.created_at, kind, target, state,
            changed, NEW.actor_user_id, organisation, role,
            nullif(nullif(current_setting('symbiose.request_id', true), ''), '-'), network, parties);
    RETURN NULL;
END
$$;

CREATE TRIGGER listing_events_public AFTER INSERT ON listing_events
    FOR EACH ROW EXECUTE FUNCTION record_public_event('listing');
CREATE TRIGGER transfer_events_public AFTER INSERT ON transfer_events
    FOR EACH ROW EXECUTE FUNCTION record_public_event('transfer');
CREATE TRIGGER reservation_events_public AFTER INSERT ON reservation_events
    FOR EACH ROW EXECUTE FUNCTION record_public_event('reservation');
CREATE TRIGGER membership_events_public AFTER INSERT ON membership_events
    FOR EACH ROW EXECUTE FUNCTION record_public_event('membership');

-- Webhook endpoints: an organisation's (its events) or a network's (for its operators).
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid REFERENCES organisations (id) ON DELETE CASCADE,
    network_id uuid REFERENCES networks (id) ON DELETE CASCADE,
    url text NOT NULL,
    -- Exact types and `prefix.*`; empty: every event the owner sees.
    event_types text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    secret text NOT NULL,
    -- During a rotation the previous secret signs too, until `previous_secret_until`.
    previous_secret text,
    previous_secret_until timestamptz,
    -- Since when every attempt has failed (NULL: the last one succeeded).
    failing_since timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((organisation_id IS NULL) <> (network_id IS NULL))
);
CREATE INDEX webhook_endpoints_organisation_idx ON webhook_endpoints (organisation_id) WHERE enabled;
CREATE INDEX webhook_endpoints_network_idx ON webhook_endpoints (network_id) WHERE enabled;

-- How far the fan-out has read the feed (events are numbered, so one number is exact).
CREATE TABLE webhook_dispatcher (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_sequence bigint NOT NULL DEFAULT 0
);
INSERT INTO webhook_dispatcher DEFAULT VALUES;

-- One event to one endpoint; `id` is the `webhook-id` of every attempt of it.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker's claim: nobody else sends it before then (a killed worker's claim runs out).
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    status_code integer,
    error text,
    response_start text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, id DESC);
