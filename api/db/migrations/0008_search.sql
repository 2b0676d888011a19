-- Full-text search over listings, served by PostgreSQL itself (the default search backend).
--
-- Text: one generated tsvector per listing holding the title (weight A) and the description
-- (weight B) three times over: French stems, English stems, and the plain words (for prefixes
-- and exact words), all with accents folded. Typos: a vocabulary of the plain words, kept by
-- statement triggers, where a query word of 5+ letters finds its one-edit neighbours through a
-- trigram index; those words then go through the tsvector index like any other.

CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- unaccent() is only STABLE (it reads its dictionary through the search path); naming the
-- dictionary and schema makes it safe to declare IMMUTABLE, as indexes need.
CREATE FUNCTION symbiose_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

CREATE TEXT SEARCH CONFIGURATION symbiose_fr (COPY = pg_catalog.french);
ALTER TEXT SEARCH CONFIGURATION symbiose_fr
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, french_stem;
CREATE TEXT SEARCH CONFIGURATION symbiose_en (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION symbiose_en
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION symbiose_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION symbiose_simple
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, simple;

ALTER TABLE listings ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('symbiose_fr', title), 'A')
    || setweight(to_tsvector('symbiose_en', title), 'A')
    || setweight(to_tsvector('symbiose_simple', title), 'A')
    || setweight(to_tsvector('symbiose_fr', description), 'B')
    || setweight(to_tsvector('symbiose_en', description), 'B')
    || setweight(to_tsvector('symbiose_simple', description), 'B')
) STORED;
-- The vector is about 1 kB, twice the rest of a row: kept inline it made the table four rows a page,
-- and every search's heap scan read four times the pages. Out of line (TOAST), filters and facet
-- counts read narrow rows; only the relevance rank and highlights fetch it.
ALTER TABLE listings ALTER COLUMN search_document SET STORAGE EXTERNAL;
ALTER TABLE listings SET (toast_tuple_target = 512);

-- Search only ever reads published listings: the partial indexes leave drafts and archives out.
CREATE INDEX listings_search_document_idx ON listings USING gin (search_document)
    WHERE status = 'published';
CREATE INDEX listings_search_earth_idx ON listings USING gist (ll_to_earth(latitude, longitude))
    WHERE status = 'published';
CREATE INDEX listings_search_published_idx ON listings (published_at DESC, id DESC)
    WHERE status = 'published';

-- The vocabulary for typo tolerance: every plain word of 4+ letters of any listing. Words are
-- never removed (a stale word only expands a typo to a word that matches nothing).
CREATE TABLE search_words (
    word text PRIMARY KEY
);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

CREATE FUNCTION symbiose_search_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted, so that two transactions adding the same new words take them in the same order.
    INSERT INTO search_words (word)
    SELECT DISTINCT w
    FROM new_rows r,
         unnest(tsvector_to_array(to_tsvector('symbiose_simple', r.title || ' ' || r.description))) AS w
    WHERE length(w) >= 4
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER listings_search_words_insert AFTER INSERT ON listings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION symbiose_search_words_add();
CREATE TRIGGER listings_search_words_update AFTER UPDATE ON listings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION symbiose_search_words_add();

INSERT INTO search_words (word)
SELECT DISTINCT w
FROM listings l, unnest(tsvector_to_array(to_tsvector('symbiose_simple', l.title || ' ' || l.description))) AS w
WHERE length(w) >= 4
ON CONFLICT DO NOTHING;
