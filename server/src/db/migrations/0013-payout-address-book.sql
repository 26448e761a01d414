-- Owned by server/src/modules/payouts. docs/adr/0015-batch-and-canary-payouts.md.
-- Address book API (per store and per customer, network, cooldown), store payout settings (whitelist-only,
-- cooldown, canary threshold), batch payouts through the BatchTransfer contract, canary payouts.

-- Address book: one entry per (store, address); optionally tied to a customer and to one network (null =
-- every EVM network of the gateway). An entry receives nothing before cooldown_until (null: no cooldown, as
-- for entries written before this migration).
alter table payout_address_book
  add column id text unique,
  add column customer_id text references customers (id),
  add column network text,
  add column cooldown_until timestamptz,
  add column created_by text,
  add column updated_at timestamptz not null default now();
-- Rows written before this migration get an id of the API's shape (pab_ + 26 Crockford characters).
update payout_address_book set id = 'pab_' || upper(substr(md5(merchant_id || ':' || address), 1, 26)) where id is null;
alter table payout_address_book alter column id set not null;
create index payout_address_book_customer_idx on payout_address_book (merchant_id, customer_id)
  where customer_id is not null;

-- Per-store payout settings; a store without a row has the defaults of payout.limits.ts.
create table payout_settings (
  merchant_id text primary key references merchants (id),
  -- refuse payouts to destinations that are not in the store's address book
  whitelist_only boolean not null default false,
  -- how long a new address-book entry waits before it can receive
  cooldown_seconds integer not null check (cooldown_seconds >= 0),
  -- a first payout to a never-paid address above this (18-decimal scale) sends a canary first; null = off
  canary_threshold_scaled numeric(78, 0) check (canary_threshold_scaled > 0),
  -- the canary's amount (18-decimal scale)
  canary_amount_scaled numeric(78, 0) not null check (canary_amount_scaled > 0),
  updated_by text not null,
  updated_at timestamptz not null default now()
);

-- One BatchTransfer transaction (`batchTransferPooled`) paying 2+ payouts of one token, or the one-time
-- `approve` of the contract by the hot wallet (kind 'approve', no items). Signed with a nonce from
-- hot_wallet_nonces and stored before the first broadcast, like a single payout.
create table payout_batches (
  id text primary key,
  network text not null,
  kind text not null check (kind in ('transfer', 'approve')),
  token_address text not null check (token_address ~ '^0x[0-9a-f]{40}$'),
  contract_address text not null check (contract_address ~ '^0x[0-9a-f]{40}$'),
  status text not null check (status in ('broadcast', 'confirmed', 'finalized', 'failed')),
  nonce bigint not null check (nonce >= 0),
  item_count integer not null check (item_count >= 0),
  total numeric(78, 0) not null check (total >= 0),
  mined_hash text,
  block_number numeric(78, 0),
  gas_used numeric(78, 0),
  effective_gas_price numeric(78, 0),
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index payout_batches_open_idx on payout_batches (network, status, id)
  where status in ('broadcast', 'confirmed');

-- Every transaction signed for a batch (first attempt and fee-bumped replacements, same nonce).
create table payout_batch_transactions (
  batch_id text not null references payout_batches (id),
  attempt integer not null check (attempt >= 1),
  nonce bigint not null check (nonce >= 0),
  tx_hash text not null unique check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text not null,
  gas_limit numeric(78, 0) not null,
  max_fee_per_gas numeric(78, 0) not null,
  max_priority_fee_per_gas numeric(78, 0) not null,
  broadcasts integer not null default 0,
  last_broadcast_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (batch_id, attempt)
);

-- A payout sent in a batch names it; its own payout_transactions stay empty.
-- A canary names its parent; the parent names its canary and is not signed before the canary is final.
alter table payouts
  add column batch_id text references payout_batches (id),
  add column parent_payout_id text references payouts (id),
  add column canary_payout_id text references payouts (id);
create index payouts_batch_idx on payouts (batch_id) where batch_id is not null;
create index payouts_destination_idx on payouts (merchant_id, lower(destination), status);
