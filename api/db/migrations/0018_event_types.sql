-- The feed's events of synergies and payments (see 0013 for the feed itself).
--
-- Synergies have a lifecycle table like the others (`synergy_events`); they are confidential, so
-- their events are seen by the network's operators and the organisations involved only.
-- Payments have no lifecycle table: Stripe moves a PaymentIntent, and each change of the stored
-- intent that a payer or a provider cares about is an event (`payment_state_events`, below). The
-- trigger reads the row only through `to_jsonb`, by column name, so it serves any table of Stripe
-- intents with these columns, whatever it pays for (`reservation_id`, or `transfer_id` where paid
-- transfers add it): attach it to such a table as it is attached to `payment_intents`.

CREATE OR REPLACE FUNCTION event_type(resource_type text, from_status text, to_status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT resource_type || '.' || CASE
        WHEN resource_type = 'listing' AND from_status IS NULL THEN 'created'
        WHEN resource_type = 'listing' AND to_status = 'draft' THEN 'unpublished'
        WHEN resource_type = 'membership' AND to_status = 'pending' THEN 'requested'
        WHEN resource_type = 'membership' AND to_status = 'active' AND from_status = 'suspended'
            THEN 'reinstated'
        WHEN resource_type = 'membership' AND to_status = 'active' THEN 'approved'
        WHEN resource_type = 'synergy' AND to_status = 'potential' THEN 'proposed'
        WHEN resource_type = 'synergy' AND to_status = 'in_progress' THEN 'started'
        ELSE to_status
    END
$$;

CREATE OR REPLACE FUNCTION record_public_event() RETURNS trigger LANGUAGE plpgsql AS $$
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
    ELSIF kind = 'synergy' THEN
        -- The fingerprints are detection's bookkeeping, not the synergy's state.
        target := NEW.synergy_id;
        SELECT to_jsonb(s) - 'fingerprint' - 'inputs_key', s.network_id, s.organisation_ids
          INTO state, network, parties FROM synergies s WHERE s.id = target;
        role := CASE WHEN NEW.actor_user_id IS NULL THEN 'system' ELSE 'operator' END;
    ELSE
        target := NEW.membership_id;
        SELECT to_jsonb(m), m.network_id, ARRAY[m.organisation_id]
          INTO state, network, parties FROM memberships m WHERE m.id = target;
        role := CASE WHEN NEW.action = 'request' THEN 'member' ELSE 'operator' END;
        organisation := CASE WHEN role = 'member' THEN parties[1] END;
    END IF;

    SELECT e.resource INTO before FROM events e
     WHERE e.resource_id = target AND e.resource_type = kind ORDER BY e.position DESC LIMIT 1;
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

CREATE TRIGGER synergy_events_public AFTER INSERT ON synergy_events
    FOR EACH ROW EXECUTE FUNCTION record_public_event('synergy');

-- The names of what changed between two states of a PaymentIntent (`old` NULL: it was just
-- created), in the order they are recorded. api/events/types.py lists the same names (a test checks).
CREATE FUNCTION payment_event_types(old jsonb, new jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_remove(ARRAY[
        CASE WHEN old IS NULL THEN 'payment.created' END,
        CASE WHEN new ->> 'last_error' IS NOT NULL
                  AND new ->> 'last_error' IS DISTINCT FROM old ->> 'last_error' THEN 'payment.failed' END,
        CASE WHEN old IS NOT NULL AND new ->> 'status' IS DISTINCT FROM old ->> 'status'
                  AND new ->> 'status' IN ('succeeded', 'canceled') THEN 'payment.' || (new ->> 'status') END,
        CASE WHEN (new ->> 'refunded_cents')::bigint > coalesce((old ->> 'refunded_cents')::bigint, 0)
             THEN 'payment.refunded' END,
        CASE WHEN new ->> 'dispute_status' IS NOT NULL AND old ->> 'dispute_status' IS NULL
             THEN 'payment.disputed' END,
        CASE WHEN new ->> 'dispute_status' IN ('won', 'lost')
                  AND new ->> 'dispute_status' IS DISTINCT FROM old ->> 'dispute_status'
             THEN 'payment.dispute_' || (new ->> 'dispute_status') END
    ], NULL)
$$;

CREATE FUNCTION record_payment_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_state jsonb := to_jsonb(NEW);
    old_state jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
    types text[] := payment_event_types(old_state, now_state);
    reservation uuid := (now_state ->> 'reservation_id')::uuid;
    transfer uuid := (now_state ->> 'transfer_id')::uuid;
    -- Stripe's ids are text; the feed's resource ids are uuids: the same one for every event of it.
    target uuid := md5('payment_intent:' || (now_state ->> 'stripe_id'))::uuid;
    state jsonb;
    changed jsonb := '{}';
    network uuid;
    parties uuid[];
    kind text;
BEGIN
    IF cardinality(types) = 0 THEN
        RETURN NULL;
    END IF;
    IF reservation IS NOT NULL THEN
        SELECT r.network_id, ARRAY[r.provider_id, r.requester_id] INTO network, parties
          FROM reservations r WHERE r.id = reservation;
    ELSIF transfer IS NOT NULL THEN
        SELECT t.network_id, ARRAY[t.giver_id, t.taker_id] INTO network, parties
          FROM transfers t WHERE t.id = transfer;
    END IF;
    -- What the payer and the provider may see: not the client secret, the connected account nor
    -- our cancellation bookkeeping.
    state := jsonb_build_object(
        'id', target, 'payment_intent_id', now_state -> 'stripe_id',
        'reservation_id', reservation, 'transfer_id', transfer,
        'amount_cents', now_state -> 'amount_cents', 'fee_cents', now_state -> 'fee_cents',
        'currency', now_state -> 'currency', 'status', now_state -> 'status',
        'last_error', now_state -> 'last_error', 'captured_cents', now_state -> 'captured_cents',
        'refunded_cents', now_state -> 'refunded_cents', 'dispute_status', now_state -> 'dispute_status',
        'dispute_reason', now_state -> 'dispute_reason', 'created_at', now_state -> 'created_at',
        'updated_at', now_state -> 'updated_at');
    IF old_state IS NOT NULL THEN
        SELECT coalesce(jsonb_object_agg(o.key, o.value), '{}'::jsonb) INTO changed
          FROM jsonb_each(old_state) o
         WHERE state ? o.key AND state -> o.key IS DISTINCT FROM o.value;
    END IF;
    FOREACH kind IN ARRAY types LOOP
        INSERT INTO events (type, resource_type, resource_id, resource, previous_values, actor_role,
                            request_id, network_id, parties)
        VALUES (kind, 'payment', target, state, changed, 'system',
                nullif(nullif(current_setting('symbiose.request_id', true), ''), '-'), network,
                coalesce(parties, '{}'));
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER payment_state_events AFTER INSERT OR UPDATE ON payment_intents
    FOR EACH ROW EXECUTE FUNCTION record_payment_event();
