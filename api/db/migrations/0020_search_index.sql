-- The change log also says which listing (or organisation) each change wrote, so that the search
-- index each worker keeps in memory (search/postgres/index.py) can fetch exactly the listings that
-- changed since its generation instead of reading every listing again.
--
-- A row's meaning, for the index: listing_id set, that listing changed (read it again);
-- organisation_id set, that organisation changed (its name and is_ess; is_ess reaches the listings
-- through their own logged updates, the name is not indexed); both NULL, anything may have changed
-- (a truncation, or a transaction that wrote more than 10 000 listings): rebuild. For the result
-- cache nothing changes: a NULL document still means "may touch any search" (an organisation, a
-- truncation, or any listing past the first 100 of a transaction).
ALTER TABLE search_changes
    ADD COLUMN listing_id uuid,
    ADD COLUMN organisation_id uuid;

CREATE OR REPLACE FUNCTION symbiose_search_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    generation bigint := nullif(current_setting('symbiose.search_generation', true), '')::bigint;
    logged integer := coalesce(nullif(current_setting('symbiose.search_changes_logged', true), '')::integer, 0);
    document tsvector;
    listing uuid;
    organisation uuid;
BEGIN
    IF generation IS NULL THEN
        UPDATE search_generation SET value = value + 1 RETURNING value INTO generation;
        PERFORM set_config('symbiose.search_generation', generation::text, true);
    END IF;
    IF logged >= 10000 THEN
        RETURN NULL;  -- this transaction already logged "anything may have changed"
    END IF;
    IF TG_LEVEL = 'ROW' AND TG_TABLE_NAME = 'listings' AND logged < 9999
       AND (TG_OP <> 'UPDATE' OR OLD.id = NEW.id) THEN
        listing := CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END;
        IF logged < 100 THEN
            document := CASE TG_OP
                WHEN 'INSERT' THEN NEW.search_document
                WHEN 'DELETE' THEN OLD.search_document
                ELSE OLD.search_document || NEW.search_document END;
        END IF;
    ELSIF TG_LEVEL = 'ROW' AND TG_TABLE_NAME = 'organisations' THEN
        organisation := CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END;
    END IF;
    INSERT INTO search_changes (generation, document, listing_id, organisation_id)
    VALUES (generation, document, listing, organisation);
    PERFORM set_config('symbiose.search_changes_logged',
                       CASE WHEN listing IS NULL AND organisation IS NULL THEN '10000'
                            ELSE (logged + 1)::text END, true);
    RETURN NULL;
END
$$;
