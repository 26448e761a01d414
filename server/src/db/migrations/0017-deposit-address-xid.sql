-- Owned by server/src/modules/payments. docs/adr/0011 (loading addresses) and 0018.
-- The transaction that created each deposit address. `sequence` is taken at insert, not at commit, so a
-- reader that loads `sequence > cursor` skips an address whose transaction commits after a later one
-- was loaded — and the watcher would then miss its deposits. Loading by creating transaction against
-- the snapshot's xmin (every transaction below it has ended) misses nothing.
alter table deposit_addresses add column created_xid xid8 not null default pg_current_xact_id();
create index deposit_addresses_created_xid_idx on deposit_addresses (created_xid, address);
