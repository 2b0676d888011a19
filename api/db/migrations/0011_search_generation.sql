-- The generation of what search reads: one number that every committed change to listings or
-- organisations moves on. The PostgreSQL backend caches a result under the generation it was
-- computed at and serves it only while the generation has not moved (and no listing it could show
-- has expired meanwhile), so a cached result is exactly what the tables would answer.
CREATE TABLE search_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value bigint NOT NULL
);
INSERT INTO search_generation (value) VALUES (1);

-- Once per transaction, however many rows it writes. Fired at commit (the triggers below are
-- deferred), so the row lock it takes is the last lock of the transaction and is held only while
-- it commits: writers cannot deadlock on it, and they queue on it only to commit.
CREATE FUNCTION symbiose_search_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('symbiose.search_generation_bumped', true) IS DISTINCT FROM 'on' THEN
        UPDATE search_generation SET value = value + 1;
        PERFORM set_config('symbiose.search_generation_bumped', 'on', true);
    END IF;
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
