-- Networks, zones, organisations, users, roles and memberships: who belongs where and may do what.

CREATE TABLE networks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zones (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('business_park', 'commune', 'district', 'other')),
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    radius_km numeric(8, 3) NOT NULL CHECK (radius_km > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, name),
    UNIQUE (network_id, id)
);

CREATE TABLE organisations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    siret char(14) NOT NULL UNIQUE CHECK (siret ~ '^[0-9]{14}$'),
    naf_code text CHECK (naf_code ~ '^[0-9]{2}\.[0-9]{2}[A-Z]$'),
    legal_form text,
    is_ess boolean NOT NULL DEFAULT false,
    description text NOT NULL DEFAULT '',
    website text,
    address_line text NOT NULL DEFAULT '',
    postcode text NOT NULL DEFAULT '',
    city text NOT NULL DEFAULT '',
    country char(2) NOT NULL DEFAULT 'FR',
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    issuer text NOT NULL,
    subject text NOT NULL,
    email text,
    name text,
    is_platform_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);
CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE organisation_roles (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('admin', 'staff')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, user_id)
);
CREATE INDEX organisation_roles_user_idx ON organisation_roles (user_id);

CREATE TABLE network_operators (
    network_id uuid NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (network_id, user_id)
);
CREATE INDEX network_operators_user_idx ON network_operators (user_id);

CREATE TABLE memberships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    network_id uuid NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    zone_id uuid,
    status text NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'rejected')),
    message text NOT NULL DEFAULT '',
    reason text,
    requested_by uuid REFERENCES users (id),
    decided_by uuid REFERENCES users (id),
    decided_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (network_id, organisation_id),
    -- A zone must belong to the membership's own network.
    FOREIGN KEY (network_id, zone_id) REFERENCES zones (network_id, id)
);
CREATE INDEX memberships_organisation_idx ON memberships (organisation_id, status);
CREATE INDEX memberships_network_status_idx ON memberships (network_id, status);

CREATE TABLE membership_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    membership_id uuid NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    action text NOT NULL,
    from_status text,
    to_status text NOT NULL,
    actor_user_id uuid REFERENCES users (id),
    reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX membership_events_membership_idx ON membership_events (membership_id, id);

CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'staff')),
    token_sha256 text NOT NULL UNIQUE,
    invited_by uuid NOT NULL REFERENCES users (id),
    expires_at timestamptz NOT NULL,
    accepted_by uuid REFERENCES users (id),
    accepted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_organisation_idx ON invitations (organisation_id, created_at);
