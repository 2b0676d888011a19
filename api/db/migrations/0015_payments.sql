-- Payments through Stripe Connect: providers' connected accounts, networks' fees, the price copied
-- onto each reservation, its PaymentIntent, and the Stripe events already applied.

-- The platform's commission on a network's payments: a share in basis points (1/100 of a percent)
-- plus a fixed amount in cents, and optionally another pair for social-economy (ESS) providers.
ALTER TABLE networks
    ADD COLUMN fee_basis_points integer NOT NULL DEFAULT 0 CHECK (fee_basis_points BETWEEN 0 AND 10000),
    ADD COLUMN fee_fixed_cents bigint NOT NULL DEFAULT 0 CHECK (fee_fixed_cents >= 0),
    ADD COLUMN ess_fee_basis_points integer CHECK (ess_fee_basis_points BETWEEN 0 AND 10000),
    ADD COLUMN ess_fee_fixed_cents bigint CHECK (ess_fee_fixed_cents >= 0),
    ADD CONSTRAINT networks_ess_fee_check
        CHECK ((ess_fee_basis_points IS NULL) = (ess_fee_fixed_cents IS NULL));

-- One Stripe connected account per organisation, as Stripe last described it.
CREATE TABLE payment_accounts (
    organisation_id uuid PRIMARY KEY REFERENCES organisations (id),
    stripe_account_id text NOT NULL UNIQUE,
    charges_enabled boolean NOT NULL DEFAULT false,
    payouts_enabled boolean NOT NULL DEFAULT false,
    details_submitted boolean NOT NULL DEFAULT false,
    requirements text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The price of a reservation, fixed when it is requested: what the requester pays, the network's
-- fee and the provider's share, in the smallest unit of the currency.
ALTER TABLE reservations
    ADD COLUMN amount_cents bigint CHECK (amount_cents > 0),
    ADD COLUMN fee_cents bigint CHECK (fee_cents >= 0),
    ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN payment_failure text,
    ADD CONSTRAINT reservations_price_check CHECK (
        (amount_cents IS NULL AND fee_cents IS NULL AND currency IS NULL)
        OR (amount_cents IS NOT NULL AND fee_cents IS NOT NULL AND currency IS NOT NULL
            AND fee_cents <= amount_cents));

-- What a requester's cancellation of a paid booking refunds (see api/payments/pricing.py); copied
-- onto the reservation when it is requested.
ALTER TABLE listings
    ADD COLUMN cancellation_policy text NOT NULL DEFAULT 'flexible'
        CHECK (cancellation_policy IN ('flexible', 'moderate', 'strict'));
ALTER TABLE reservations
    ADD COLUMN cancellation_policy text CHECK (cancellation_policy IN ('flexible', 'moderate', 'strict'));

-- PaymentIntents, as Stripe last described them. `live` is any that may still take or has taken
-- money: at most one per reservation, whatever races above.
CREATE TABLE payment_intents (
    stripe_id text PRIMARY KEY,
    reservation_id uuid NOT NULL REFERENCES reservations (id),
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    fee_cents bigint NOT NULL CHECK (fee_cents >= 0 AND fee_cents <= amount_cents),
    currency text NOT NULL,
    destination text NOT NULL,
    client_secret text NOT NULL,
    status text NOT NULL,
    last_error text,
    -- Set when our side wants it cancelled (the reservation expired); cleared once Stripe agrees.
    cancel_requested boolean NOT NULL DEFAULT false,
    -- What Stripe captured, and what we asked it to refund: never more than was captured.
    captured_cents bigint NOT NULL DEFAULT 0 CHECK (captured_cents >= 0),
    refunded_cents bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
    -- A chargeback by the payer's bank, as Stripe last described it.
    dispute_status text,
    dispute_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payment_intents_refunds_within_captured CHECK (refunded_cents <= captured_cents)
);
CREATE UNIQUE INDEX payment_intents_one_live ON payment_intents (reservation_id) WHERE status <> 'canceled';
CREATE INDEX payment_intents_cancel_idx ON payment_intents (stripe_id) WHERE cancel_requested;

-- Refunds asked of Stripe, as it last described them; each adds to its intent's refunded_cents in
-- the same transaction, so their sum is bound by the check above.
CREATE TABLE refunds (
    stripe_id text PRIMARY KEY,
    payment_intent_id text NOT NULL REFERENCES payment_intents (stripe_id),
    reservation_id uuid NOT NULL REFERENCES reservations (id),
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    status text NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_intent_idx ON refunds (payment_intent_id);

-- Each Stripe event applied once: inserted in the transaction that applies it.
CREATE TABLE stripe_events (
    id text PRIMARY KEY,
    type text NOT NULL,
    object_id text,
    received_at timestamptz NOT NULL DEFAULT now()
);
