-- Owned by server/src/modules/treasury. docs/adr/0016-signers-and-cold-wallet.md.
-- The hot wallet's floor and ceiling per (network, asset) live in the configuration; this table keeps what
-- the periodic check proposed, and what treasurers decided.

-- One proposal: below the floor a top-up from cold (carried out offline by treasurers: the cold key never
-- touches the gateway), above the ceiling a sweep of the excess to the cold address (approved with TOTP,
-- then signed through the network's signer). At most one open proposal per (network, asset, kind).
create table treasury_proposals (
  id text primary key,
  kind text not null check (kind in ('topup_from_cold', 'sweep_to_cold')),
  network text not null,
  asset_id text not null,
  token_address text not null check (token_address ~ '^0x[0-9a-f]{40}$'),
  hot_wallet_address text not null check (hot_wallet_address ~ '^0x[0-9a-f]{40}$'),
  cold_address text not null check (cold_address ~ '^0x[0-9a-f]{40}$'),
  amount numeric(78, 0) not null check (amount > 0),
  -- the hot wallet's on-chain balance and the band when the proposal was made
  balance_seen numeric(78, 0) not null check (balance_seen >= 0),
  floor_minor numeric(78, 0) not null check (floor_minor >= 0),
  ceiling_minor numeric(78, 0) not null check (ceiling_minor > floor_minor),
  -- open → approved → sent → completed | failed (sweeps); open → resolved (balance back in band) | rejected
  status text not null check (status in ('open', 'approved', 'sent', 'completed', 'failed', 'resolved',
    'rejected')),
  -- +1 on every change: an approval quotes it
  revision integer not null default 1 check (revision >= 1),
  decided_by text,
  decided_by_merchant_id text,
  decided_at timestamptz,
  nonce bigint check (nonce >= 0),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text,
  max_fee_per_gas numeric(78, 0),
  max_priority_fee_per_gas numeric(78, 0),
  block_number numeric(78, 0),
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- top-ups are carried out by people with the cold key, never signed here
  check (kind = 'sweep_to_cold' or status in ('open', 'resolved', 'rejected')),
  check (status not in ('sent', 'completed') or (nonce is not null and raw_tx is not null))
);
create unique index treasury_proposals_one_open_idx on treasury_proposals (network, asset_id, kind)
  where status in ('open', 'approved', 'sent');
create index treasury_proposals_list_idx on treasury_proposals (id desc);

-- The last balance read of each watched wallet (hot and cold) per asset: what the treasury view shows.
create table treasury_balances (
  network text not null,
  asset_id text not null,
  wallet text not null check (wallet in ('hot', 'cold')),
  address text not null check (address ~ '^0x[0-9a-f]{40}$'),
  balance numeric(78, 0) not null check (balance >= 0),
  observed_at timestamptz not null,
  primary key (network, asset_id, wallet)
);
