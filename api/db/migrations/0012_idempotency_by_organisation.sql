-- An Idempotency-Key belongs to a user *and* the organisation the user acts for: the same key sent
-- for another organisation is a new request, not a replay of the first one (which that organisation
-- may not even see). Keys claimed before this migration belong to the organisation that asked.
ALTER TABLE idempotency_keys ADD COLUMN organisation_id uuid REFERENCES organisations (id);
UPDATE idempotency_keys k
   SET organisation_id = CASE t.initiated_by WHEN 'taker' THEN t.taker_id ELSE t.giver_id END
  FROM transfers t
 WHERE t.id = k.transfer_id;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
-- The organisation is null when the caller acted for none (the creation is then refused, and its
-- claim rolled back); NULLS NOT DISTINCT keeps such claims unique too.
ALTER TABLE idempotency_keys
    ADD CONSTRAINT idempotency_keys_owner_key UNIQUE NULLS NOT DISTINCT (user_id, organisation_id, key);

ALTER TABLE reservation_idempotency_keys ADD COLUMN organisation_id uuid REFERENCES organisations (id);
UPDATE reservation_idempotency_keys k
   SET organisation_id = r.requester_id
  FROM reservations r
 WHERE r.id = k.reservation_id;
ALTER TABLE reservation_idempotency_keys DROP CONSTRAINT reservation_idempotency_keys_pkey;
ALTER TABLE reservation_idempotency_keys
    ADD CONSTRAINT reservation_idempotency_keys_owner_key
        UNIQUE NULLS NOT DISTINCT (user_id, organisation_id, key);
