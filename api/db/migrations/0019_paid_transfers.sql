-- Paid transfers of priced materials: the price terms copied onto the transfer when it is requested,
-- the statuses `awaiting_payment` and `paid` between the accept and the schedule, and PaymentIntents
-- and refunds that belong to a transfer as well as to a reservation.

-- The statuses of 0006, plus the two of a paid transfer. The checks naming `status` are dropped by
-- what they say, whatever name PostgreSQL gave them, and added again under names of their own.
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'transfers'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%status%'
    LOOP
        EXECUTE format('ALTER TABLE transfers DROP CONSTRAINT %I', found.conname);
    END LOOP;
END
$$;

ALTER TABLE transfers
    ADD CONSTRAINT transfers_status_check CHECK (status IN (
        'requested', 'accepted', 'awaiting_payment', 'paid', 'scheduled', 'in_transit', 'received',
        'completed', 'declined', 'cancelled', 'disputed')),
    -- Hazardous waste never moves without its tracking form (BSD) and a named carrier.
    ADD CONSTRAINT transfers_hazardous_tracking_check CHECK (
        NOT hazardous
        OR status IN ('requested', 'accepted', 'awaiting_payment', 'paid', 'scheduled', 'declined', 'cancelled')
        OR (tracking_form_ref IS NOT NULL AND carrier IS NOT NULL));

-- The terms of a priced offer, copied when the transfer is requested (api/payments/pricing.py): the
-- price kind and unit price, and the network's fee rate; and the breakdown they give for the quantity
-- asked, then for the quantity agreed once accepted.
ALTER TABLE transfers
    ADD COLUMN price_kind text CHECK (price_kind IN ('fixed', 'per_unit')),
    ADD COLUMN unit_price_cents bigint CHECK (unit_price_cents > 0),
    ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN fee_basis_points integer CHECK (fee_basis_points BETWEEN 0 AND 10000),
    ADD COLUMN fee_fixed_cents bigint CHECK (fee_fixed_cents >= 0),
    ADD COLUMN amount_cents bigint CHECK (amount_cents > 0),
    ADD COLUMN fee_cents bigint CHECK (fee_cents >= 0),
    ADD COLUMN payment_failure text,
    ADD CONSTRAINT transfers_price_check CHECK (
        num_nulls(price_kind, unit_price_cents, currency, fee_basis_points, fee_fixed_cents, amount_cents,
                  fee_cents) IN (0, 7)
        AND (fee_cents IS NULL OR fee_cents <= amount_cents)),
    -- Only a priced transfer waits for, or has, a payment.
    ADD CONSTRAINT transfers_paid_is_priced_check CHECK (
        status NOT IN ('awaiting_payment', 'paid') OR amount_cents IS NOT NULL);

-- A PaymentIntent or a refund is a reservation's or a transfer's, never both.
ALTER TABLE payment_intents
    ALTER COLUMN reservation_id DROP NOT NULL,
    ADD COLUMN transfer_id uuid REFERENCES transfers (id),
    ADD CONSTRAINT payment_intents_one_owner CHECK (num_nonnulls(reservation_id, transfer_id) = 1);
-- At most one live PaymentIntent per transfer, as `payment_intents_one_live` per reservation.
CREATE UNIQUE INDEX payment_intents_one_live_per_transfer ON payment_intents (transfer_id)
    WHERE status <> 'canceled';

ALTER TABLE refunds
    ALTER COLUMN reservation_id DROP NOT NULL,
    ADD COLUMN transfer_id uuid REFERENCES transfers (id),
    ADD CONSTRAINT refunds_one_owner CHECK (num_nonnulls(reservation_id, transfer_id) = 1);
CREATE INDEX refunds_transfer_idx ON refunds (transfer_id) WHERE transfer_id IS NOT NULL;
