-- Reference data of the catalogue: units, the category tree and the European Waste Catalogue.
-- The rows themselves ship in a later data migration.

CREATE TABLE units (
    code text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]+$'),
    label_fr text NOT NULL,
    label_en text NOT NULL,
    dimension text NOT NULL CHECK (dimension IN ('mass', 'volume', 'area', 'count', 'energy', 'power', 'time', 'length')),
    -- kg in one unit, for mass units only (kg = 1, t = 1000); other units convert through the category.
    kg_factor numeric(14, 6) CHECK (kg_factor > 0),
    CHECK ((dimension = 'mass') = (kg_factor IS NOT NULL))
);

-- A category's id is its dotted path ('wood.pallets'): a sub-category's id starts with its
-- parent's id and a dot, so "this category and everything under it" is one index range scan.
CREATE TABLE categories (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]+(\.[a-z0-9_]+)*$'),
    parent_id text REFERENCES categories (id),
    position integer NOT NULL DEFAULT 0,
    label_fr text NOT NULL,
    label_en text NOT NULL,
    nature text NOT NULL CHECK (nature IN ('material', 'energy', 'service')),
    default_unit text NOT NULL REFERENCES units (code),
    allowed_units text[] NOT NULL,
    ewc_codes text[] NOT NULL DEFAULT '{}',
    -- kg per unit for the allowed units that are not masses, e.g. {"pallet": 25, "m3": 1400}.
    kg_per_unit jsonb NOT NULL DEFAULT '{}',
    -- kg CO2e avoided per kg reused instead of new material or disposal; NULL for services.
    co2e_kg_per_kg numeric(10, 4) CHECK (co2e_kg_per_kg >= 0),
    factor_source text,
    CHECK (default_unit = ANY (allowed_units)),
    CHECK (parent_id IS NULL OR id LIKE parent_id || '.%'),
    CHECK (co2e_kg_per_kg IS NULL OR factor_source IS NOT NULL)
);
CREATE INDEX categories_id_prefix_idx ON categories (id text_pattern_ops);
CREATE INDEX categories_parent_idx ON categories (parent_id, position);

-- European Waste Catalogue (Commission Decision 2000/532/EC as amended by 2014/955/EU).
-- Codes are six digits written '15 01 03'; the hazardous ones carry an asterisk in the
-- official list, stored here as `hazardous`.
CREATE TABLE waste_codes (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2} [0-9]{2} [0-9]{2}$'),
    chapter text NOT NULL CHECK (chapter ~ '^[0-9]{2}$'),
    hazardous boolean NOT NULL,
    description_en text NOT NULL,
    description_fr text
);
