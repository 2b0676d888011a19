-- Detection (api/synergies/detect.py `SUBSTITUTIONS`): each demand's few best supplies by a
-- k-nearest-neighbour walk of these indexes, one walk per (category, waste code or none), instead
-- of measuring and sorting every supply x demand pair of a root category. `coalesce` makes "no
-- waste code" a key the walk can match (btree_gist for the text and uuid columns, the cube distance
-- of earthdistance for the point). Only what detection can propose is indexed: output flows,
-- published offers of resources of active members.
CREATE INDEX flows_supply_idx ON flows
    USING gist (network_id, category_id, coalesce(waste_code, ''), ll_to_earth(latitude, longitude))
    WHERE direction = 'output';
CREATE INDEX listings_supply_idx ON listings
    USING gist (network_id, category_id, coalesce(waste_code, ''), ll_to_earth(latitude, longitude))
    WHERE status = 'published' AND member_active AND direction = 'offer' AND nature <> 'service';
