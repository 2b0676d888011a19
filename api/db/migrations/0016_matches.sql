-- Matches (api/matches/repository.py): the nearest published listings of one direction and one
-- category, by a k-nearest-neighbour walk of this index (btree_gist for the two text columns, the
-- cube distance of earthdistance for the point), instead of measuring every listing of the family.
CREATE INDEX listings_matches_idx ON listings
    USING gist (direction, category_id, ll_to_earth(latitude, longitude))
    WHERE status = 'published' AND member_active;
