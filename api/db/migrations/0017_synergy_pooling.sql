-- Pooling synergies' declared outcomes, and when detection last ran for each network (the sweep
-- runs it once a day). A synergy already holds any number (>= 2) of organisations.

CREATE TABLE synergy_outcomes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    synergy_id uuid NOT NULL REFERENCES synergies (id) ON DELETE CASCADE,
    euros_saved_cents bigint CHECK (euros_saved_cents >= 0),
    km_saved numeric(12, 2) CHECK (km_saved >= 0),
    shared_jobs numeric(8, 2) CHECK (shared_jobs >= 0),
    note text,
    declared_by uuid NOT NULL REFERENCES users (id),
    -- The involved organisation the declarer spoke for; null for an operator.
    declared_for uuid REFERENCES organisations (id),
    declared_at timestamptz NOT NULL DEFAULT now(),
    CHECK (euros_saved_cents IS NOT NULL OR km_saved IS NOT NULL OR shared_jobs IS NOT NULL)
);
CREATE INDEX synergy_outcomes_synergy_idx ON synergy_outcomes (synergy_id, declared_at, id);

CREATE TABLE synergy_detection_runs (
    network_id uuid PRIMARY KEY REFERENCES networks (id) ON DELETE CASCADE,
    ran_at timestamptz NOT NULL
);

