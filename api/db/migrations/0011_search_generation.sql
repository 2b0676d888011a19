-- The generation of what search reads: one number that every committed change to listings or
-- organisations moves on, and what each generation changed. The PostgreSQL backend caches a result
-- under the generation it was computed at. A later generation may serve it only if none of the
-- changes since could touch it: for a text search, no listing changed since matches its tsquery,
-- before or after the change (search/postgres/cache.py).
CREATE TABLE search_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value bigint NOT NULL,
    -- search_changes holds every change of the generations after this one.
    changes_kept_after bigint NOT NULL
);
INSERT INTO search_generation (value, changes_kept_after) VALUES (1, 1);

-- One row per listing written: its search_document before and after the change. A NULL document
-- means "may touch any search": an organisation changed (hits show its name), a table was
-- truncated, or a transaction wrote more listings than are worth logging one by one.
CREATE TABLE search_changes (
    generation bigint NOT NULL,
    document tsvector,
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX search_changes_generation_idx ON search_changes (generation);

-- One new generation per transaction, however many rows it writes. Fired at commit (the triggers
-- below are deferred), so the row lock it takes is the last lock of the transaction and is held
-- only while it commits: writers cannot deadlock on it, and they queue on it only to commit.
CREATE FUNCTION symbiose_search_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    generation bigint := nullif(current_setting('symbiose.search_generation', true), '')::bigint;
    logged integer := coalesce(nullif(current_setting('symbiose.search_changes_logged', true), '')::integer, 0);
    document tsvector;
BEGIN
    IF generation IS NULL THEN
        UPDATE search_generation SET value = value + 1 RETURNING value INTO generation;
        PERFORM set_config('symbiose.search_generation', generation::text, true);
    END IF;
    IF logged > 100 THEN
        RETURN NULL;  -- this transaction already logged a NULL document: it may touch any search
    END IF;
    IF TG_TABLE_NAME = 'listings' AND TG_LEVEL = 'ROW' AND logged < 100 THEN
        document := CASE TG_OP
            WHEN 'INSERT' THEN NEW.search_document
            WHEN 'DELETE' THEN OLD.search_document
            ELSE OLD.search_document || NEW.search_document END;
    END IF;
    INSERT INTO search_changes (generation, document) VALUES (generation, document);
    PERFORM set_config('symbiose.search_changes_logged',
                       CASE WHEN document IS NULL THEN '101' ELSE (logged + 1)::text END, true);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER listings_search_generation AFTER INSERT OR UPDATE OR DELETE ON listings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION symbiose_search_generation_bump();
-- Hits show the organisation's name and ESS flag.
CREATE CONSTRAINT TRIGGER organisations_search_generation AFTER UPDATE OR DELETE ON organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION symbiose_search_generation_bump();
CREATE TRIGGER listings_search_generation_truncate AFTER TRUNCATE ON listings
    FOR EACH STATEMENT EXECUTE FUNCTION symbiose_search_generation_bump();
CREATE TRIGGER organisations_search_generation_truncate AFTER TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION symbiose_search_generation_bump();
