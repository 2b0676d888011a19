-- Detection (api/synergies/detect.py `SUBSTITUTIONS`): each demand's few best supplies by a
-- k-nearest-neighbour walk of these indexes, one walk per (category, waste code or none), instead
-- of measuring and sorting every supply x demand pair of a root category. `coalesce` makes "no
-- waste code" a key the walk can match (btree_gist for the text and uuid columns, the cube distance
-- of earthdistance for the point). Only what detection can propose is indexed: output flows,
-- published offers of resources of active members.
CREATE INDEX flows_supply_idx ON flows
    USING gist (network_id, category_id, coalesce(waste_code, ''), ll_to_earth(latitude, longitude))
    WHERE direction = 'output';
CREATE INDEX listings_supply_idx ON listings
    USING gist (network_id, category_id, coalesce(waste_code, ''), ll_to_earth(latitude, longitude))
    WHERE status = 'published' AND member_active AND direction = 'offer' AND nature <> 'service';

-- The feed's trigger (0018) as it was, but for one lookup skipped: see the comment inside.
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

    -- A synergy's first event (detection's or a match's proposal) has nothing before it. Not asking
    -- matters on a new database: the plan cached for an empty `events` is a sequential scan, which
    -- a detection proposing thousands of synergies in one statement would repeat for each.
    IF NOT (kind = 'synergy' AND NEW.from_status IS NULL) THEN
        SELECT e.resource INTO before FROM events e
         WHERE e.resource_id = target AND e.resource_type = kind ORDER BY e.position DESC LIMIT 1;
    END IF;
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
