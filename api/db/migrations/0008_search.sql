-- Placeholder on the search-meili branch only: 0008 belongs to the PostgreSQL search branch.
-- Migration versions must run without gaps, so this keeps 0009 loadable here; on merge, take
-- the search branch's file and drop this one.
SELECT 1;
