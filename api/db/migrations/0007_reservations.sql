-- Placeholder on the search-meili branch only: 0007 belongs to the reservations branch.
-- Migration versions must run without gaps, so this keeps 0009 loadable here; on merge, take
-- the reservations branch's file and drop this one.
SELECT 1;
