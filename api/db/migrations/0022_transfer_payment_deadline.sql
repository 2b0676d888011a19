-- A deadline for paying a transfer: set when a priced transfer is accepted (TRANSFER_PAYMENT_HOURS
-- later), cleared when it leaves `awaiting_payment`. Past it, the sweep cancels the transfer as the
-- system, returns its quantity to the offer and cancels its PaymentIntent at Stripe.
ALTER TABLE transfers ADD COLUMN payment_due_at timestamptz;

-- Transfers awaiting payment before deadlines existed get the default window from now: their takers
-- were never told of one, so none expires the moment this runs.
UPDATE transfers SET payment_due_at = now() + interval '72 hours' WHERE status = 'awaiting_payment';

ALTER TABLE transfers ADD CONSTRAINT transfers_payment_due_check
    CHECK ((status = 'awaiting_payment') = (payment_due_at IS NOT NULL));

-- What the sweep looks for.
CREATE INDEX transfers_payment_due_idx ON transfers (payment_due_at) WHERE status = 'awaiting_payment';
