-- Owned by server/src/modules/payments (deposit-address.*). docs/adr/0018-deposit-address-pool.md.
-- Addresses derived ahead of demand by a worker, so creating an invoice neither derives a key (~1 ms of
-- CPU) nor serialises on a per-merchant lock: it claims a pooled row with SKIP LOCKED.

-- The next HD index a merchant has not handed out (to the pool or directly). Locked only while
-- indexes are taken: by the refill job, or by a request when the pool is empty.
create table hd_index_counters (
  merchant_id text primary key references merchants (id),
  next_index integer not null check (next_index >= 0)
);
insert into hd_index_counters (merchant_id, next_index)
  select merchant_id, max(hd_index) + 1 from deposit_addresses group by merchant_id;

-- Derived, never shown to anyone, not yet watched. A claim moves a row to deposit_addresses in the
-- claiming transaction; a rolled-back claim puts it back.
create table deposit_address_pool (
  merchant_id text not null references merchants (id),
  hd_index integer not null check (hd_index >= 0),
  hd_account integer not null check (hd_account >= 0),
  address text not null unique check (address ~ '^0x[0-9a-f]{40}$'),
  created_at timestamptz not null default now(),
  primary key (merchant_id, hd_index)
);
