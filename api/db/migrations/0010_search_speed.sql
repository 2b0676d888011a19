-- Search without joins: what visibility and the `ess` facet read from memberships and
-- organisations is copied onto each listing, kept exact by triggers in the same transaction as
-- the change (a suspension hides the listings in the commit that suspends), and a small inline
-- title vector ranks matches without detoasting the ~1 kB search_document.
--
-- member_active: the listing's organisation is an active member of the listing's network.
-- organisation_ess: the organisation's is_ess.
ALTER TABLE listings
    ADD COLUMN member_active boolean NOT NULL DEFAULT false,
    ADD COLUMN organisation_ess boolean NOT NULL DEFAULT false;

-- The title alone, in the three configurations of search_document: a few dozen bytes kept in the
-- row, what relevance ranks on (title matches first).
ALTER TABLE listings ADD COLUMN search_title tsvector GENERATED ALWAYS AS (
    to_tsvector('symbiose_fr', title)
    || to_tsvector('symbiose_en', title)
    || to_tsvector('symbiose_simple', title)
) STORED;
ALTER TABLE listings ALTER COLUMN search_title SET STORAGE MAIN;

-- A listing written (inserted, or moved to another organisation or network, or its copies
-- written) reads the two flags. FOR SHARE waits for a concurrent membership or is_ess change and
-- then reads its committed value; a change that comes later waits for this transaction and then
-- updates this listing too (its UPDATE takes a fresh snapshot). No interleaving leaves a copy
-- stale.
CREATE FUNCTION symbiose_listings_copy_flags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.member_active := coalesce((
        SELECT m.status = 'active' FROM memberships m
        WHERE m.network_id = NEW.network_id AND m.organisation_id = NEW.organisation_id
        FOR SHARE), false);
    NEW.organisation_ess := coalesce((
        SELECT o.is_ess FROM organisations o WHERE o.id = NEW.organisation_id FOR SHARE), false);
    RETURN NEW;
END
$$;

CREATE TRIGGER listings_copy_flags_insert BEFORE INSERT ON listings
    FOR EACH ROW EXECUTE FUNCTION symbiose_listings_copy_flags();
CREATE TRIGGER listings_copy_flags_update
    BEFORE UPDATE OF organisation_id, network_id, member_active, organisation_ess ON listings
    FOR EACH ROW EXECUTE FUNCTION symbiose_listings_copy_flags();

-- A membership inserted, deleted, or whose status (or pair) changes: its listings' copy follows.
-- The listings trigger above computes the value; touching the column is what fires it.
CREATE FUNCTION symbiose_memberships_sync_listings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE listings SET member_active = NOT member_active
        WHERE network_id = OLD.network_id AND organisation_id = OLD.organisation_id
          AND member_active IS DISTINCT FROM (TG_OP = 'UPDATE' AND OLD.network_id = NEW.network_id
              AND OLD.organisation_id = NEW.organisation_id AND NEW.status = 'active');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE listings SET member_active = NOT member_active
        WHERE network_id = NEW.network_id AND organisation_id = NEW.organisation_id
          AND member_active IS DISTINCT FROM (NEW.status = 'active');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_sync_listings_insert AFTER INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION symbiose_memberships_sync_listings();
CREATE TRIGGER memberships_sync_listings_update
    AFTER UPDATE OF status, network_id, organisation_id ON memberships
    FOR EACH ROW EXECUTE FUNCTION symbiose_memberships_sync_listings();
CREATE TRIGGER memberships_sync_listings_delete AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION symbiose_memberships_sync_listings();

CREATE FUNCTION symbiose_organisations_sync_listings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE listings SET organisation_ess = NEW.is_ess
    WHERE organisation_id = NEW.id AND organisation_ess IS DISTINCT FROM NEW.is_ess;
    RETURN NULL;
END
$$;

CREATE TRIGGER organisations_sync_listings AFTER UPDATE OF is_ess ON organisations
    FOR EACH ROW WHEN (OLD.is_ess IS DISTINCT FROM NEW.is_ess)
    EXECUTE FUNCTION symbiose_organisations_sync_listings();

-- Backfill (the update trigger recomputes both flags of every row).
UPDATE listings SET member_active = member_active;

-- The indexes search reads carry the new visibility predicate, so that a suspended member's
-- listings are not even in them.
DROP INDEX listings_search_document_idx;
DROP INDEX listings_search_earth_idx;
DROP INDEX listings_search_published_idx;
-- Split by visibility, so that an anonymous search's bitmap holds the public matches only (half
-- the heap pages to visit, half the posting lists to read); a viewer with networks ORs the two
-- (`visibility = 'public' OR (visibility = 'network' AND network_id = ANY(...))`), and the two
-- together are no larger than one index over both.
CREATE INDEX listings_search_document_public_idx ON listings USING gin (search_document)
    WHERE status = 'published' AND member_active AND visibility = 'public';
CREATE INDEX listings_search_document_network_idx ON listings USING gin (search_document)
    WHERE status = 'published' AND member_active AND visibility = 'network';
CREATE INDEX listings_search_earth_idx ON listings USING gist (ll_to_earth(latitude, longitude))
    WHERE status = 'published' AND member_active;
-- In the order of `newest` and of relevance without text (NULLS LAST, as the ORDER BY says, so a
-- page stops after its rows), with what visibility checks: an index-only walk.
CREATE INDEX listings_search_published_idx ON listings (published_at DESC NULLS LAST, id DESC)
    INCLUDE (visibility, network_id, available_until, available_quantity)
    WHERE status = 'published' AND member_active;
-- Facet counts without text: an index-only scan of the visible range (anonymous callers read the
-- public half only) carrying every column visibility and the common facets need.
CREATE INDEX listings_search_facets_idx ON listings (visibility, network_id)
    INCLUDE (available_until, available_quantity, direction, nature, category_id, condition,
             price_kind, hazardous, organisation_ess)
    WHERE status = 'published' AND member_active;
