-- Owned by server/src/modules/chains (chain_cursors, chain_blocks) and server/src/modules/payments
-- (deposit_addresses, payments).

-- One row per network: where the watcher resumes, and who may scan (a lease: one scanner per network,
-- however many worker processes run). A deep reorg halts crediting on the network until an operator acts.
create table chain_cursors (
  network text primary key,
  chain_id bigint not null,
  next_block bigint not null check (next_block >= 0),
  -- highest block seen final; a reorg reaching at or below it is deeper than finality
  finalized_block bigint not null default 0,
  leased_by text,
  lease_until timestamptz,
  halted_reason text,
  updated_at timestamptz not null default now()
);

-- Hashes of scanned blocks that are not final yet: a mismatch with the chain is a reorg.
create table chain_blocks (
  network text not null,
  number bigint not null check (number >= 0),
  hash text not null check (hash ~ '^0x[0-9a-f]{64}$'),
  primary key (network, number)
);

-- Deposit addresses. One EVM address serves every EVM network (same key, same address), so the table
-- is per address family, not per network. Permanent per customer; fresh per invoice.
create table deposit_addresses (
  address text primary key check (address ~ '^0x[0-9a-f]{40}$'),
  sequence bigserial not null unique,
  merchant_id text not null references merchants (id),
  owner_kind text not null check (owner_kind in ('customer', 'invoice')),
  owner_id text not null,
  hd_account integer not null check (hd_account >= 0),
  hd_index integer not null check (hd_index >= 0),
  created_at timestamptz not null default now(),
  unique (merchant_id, hd_index),
  unique (merchant_id, owner_kind, owner_id)
);

-- Token transfers to deposit addresses, as seen on chain. (network, tx, log index) is the natural key:
-- re-scanning a block is a no-op. Amounts are exact (NUMERIC(78,0) holds any uint256).
create table payments (
  id text primary key,
  network text not null,
  tx_hash text not null check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  log_index integer not null check (log_index >= 0),
  block_number bigint not null check (block_number >= 0),
  block_hash text not null,
  token_address text not null,
  -- null for a token that is not configured (status unsupported)
  asset_id text,
  from_address text not null,
  to_address text not null references deposit_addresses (address),
  amount numeric(78, 0) not null check (amount >= 0),
  status text not null check (status in ('detected', 'confirmed', 'finalized', 'orphaned', 'held', 'unsupported', 'dust')),
  -- a held payment is final on chain but parked in suspense, not credited
  final boolean not null default false,
  merchant_id text not null,
  owner_kind text not null,
  owner_id text not null,
  screening jsonb not null default '{}'::jsonb,
  ledger_transfer_id text,
  detected_at timestamptz not null default now(),
  confirmed_at timestamptz,
  finalized_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (network, tx_hash, log_index),
  check ((status = 'finalized') <= (ledger_transfer_id is not null and final)),
  check (status <> 'finalized' or asset_id is not null)
);
create index payments_open_idx on payments (network, block_number) where not final and status in ('detected', 'confirmed', 'held');
create index payments_owner_idx on payments (merchant_id, owner_kind, owner_id, detected_at desc);
