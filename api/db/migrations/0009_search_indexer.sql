-- The Meilisearch indexer's position in the outbox.
--
-- Outbox ids come from an identity column, handed out when a row is inserted, not when its
-- transaction commits: a transaction holding id 41 may commit after one holding id 42, so
-- "everything after the last id I read" can skip 41 for ever. Each row therefore records the
-- 64-bit id of the transaction that wrote it. A reader takes only rows whose transaction is
-- older than its snapshot's xmin (`pg_snapshot_xmin(pg_current_snapshot())`): every such
-- transaction has ended, so all of its rows are visible and no row can appear later below that
-- horizon. Ordered by (txid, id), the rows below the horizon only ever grow at the end, and a
-- checkpoint (txid, outbox_id) is exact: every row at or before it has been indexed.
ALTER TABLE outbox ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX outbox_txid_id_idx ON outbox (txid, id);

-- One row per consumer (the live index name). No row: the index was never built whole, and the
-- indexer rebuilds it from the tables before following the outbox.
CREATE TABLE search_indexer_checkpoints (
    consumer text PRIMARY KEY,
    txid xid8 NOT NULL,
    outbox_id bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
