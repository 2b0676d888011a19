-- Listings: offers and needs of resources (materials, energy) and services.

CREATE TABLE imports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks (id),
    created_by uuid REFERENCES users (id),
    rows_total integer NOT NULL,
    rows_created integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE listings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    network_id uuid NOT NULL REFERENCES networks (id),
    zone_id uuid,
    direction text NOT NULL CHECK (direction IN ('offer', 'need')),
    category_id text NOT NULL REFERENCES categories (id),
    -- Copied from the category, which never changes nature, so filters need no join.
    nature text NOT NULL CHECK (nature IN ('material', 'energy', 'service')),
    title text NOT NULL CHECK (length(title) BETWEEN 3 AND 200),
    description text NOT NULL DEFAULT '',
    unit text NOT NULL REFERENCES units (code),
    quantity numeric(14, 3) CHECK (quantity > 0),
    available_quantity numeric(14, 3) CHECK (available_quantity >= 0),
    capacity numeric(14, 3) CHECK (capacity > 0),
    capacity_period text CHECK (capacity_period IN ('day', 'week', 'month')),
    price_kind text NOT NULL CHECK (price_kind IN ('free', 'fixed', 'per_unit', 'per_day', 'negotiable')),
    price_cents bigint CHECK (price_cents >= 0),
    currency char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    condition text CHECK (condition IN ('new', 'as_new', 'good', 'used', 'for_parts', 'not_applicable')),
    waste_code text REFERENCES waste_codes (code),
    hazardous boolean NOT NULL DEFAULT false,
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    available_from timestamptz,
    available_until timestamptz,
    photos text[] NOT NULL DEFAULT '{}',
    visibility text NOT NULL DEFAULT 'network' CHECK (visibility IN ('network', 'public')),
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'published', 'paused', 'archived', 'expired')),
    version integer NOT NULL DEFAULT 1,
    created_by uuid REFERENCES users (id),
    import_id uuid REFERENCES imports (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    FOREIGN KEY (network_id, zone_id) REFERENCES zones (network_id, id),
    -- Resources are counted in quantity, services offered as a capacity per period.
    CHECK (CASE WHEN nature = 'service'
                THEN capacity IS NOT NULL AND quantity IS NULL AND available_quantity IS NULL
                ELSE quantity IS NOT NULL AND capacity IS NULL AND capacity_period IS NULL END),
    CHECK (available_quantity IS NULL OR available_quantity <= quantity),
    CHECK ((price_kind IN ('free', 'negotiable')) OR price_cents IS NOT NULL),
    CHECK ((price_cents IS NULL) = (currency IS NULL)),
    CHECK (available_until IS NULL OR available_from IS NULL OR available_until > available_from)
);

CREATE INDEX listings_organisation_idx ON listings (organisation_id, created_at DESC, id DESC);
CREATE INDEX listings_network_status_idx ON listings (network_id, status, created_at DESC, id DESC);
CREATE INDEX listings_category_idx ON listings (category_id text_pattern_ops);
CREATE INDEX listings_expiry_idx ON listings (available_until) WHERE status IN ('published', 'paused');

CREATE TABLE listing_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id uuid NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    action text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor_user_id uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listing_events_listing_idx ON listing_events (listing_id, id);

