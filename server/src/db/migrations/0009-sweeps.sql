-- Owned by server/src/modules/sweeps (docs/adr/0012-sweeping.md).

-- One sweep moves one asset from one deposit address to the gateway's hot wallet on one network:
-- planned → gas-funding → ready → sent → finalized | failed. Each signed transaction is stored before
-- it is broadcast, so a crash between signing and broadcasting rebroadcasts the same bytes (same hash,
-- same nonce) instead of signing a second transaction. Amounts and gas figures are exact uint256
-- values (NUMERIC(78,0)); nonces fit bigint.
create table sweeps (
  id text primary key check (id ~ '^swp_'),
  network text not null,
  deposit_address text not null references deposit_addresses (address),
  asset_id text not null,
  token_address text not null check (token_address ~ '^0x[0-9a-f]{40}$'),
  hot_wallet_address text not null check (hot_wallet_address ~ '^0x[0-9a-f]{40}$'),
  amount numeric(78, 0) not null check (amount > 0),
  status text not null check (status in ('planned', 'gas-funding', 'ready', 'sent', 'finalized', 'failed')),
  -- The sweep transaction's gas plan, fixed when its gas is funded: the top-up pays exactly
  -- gas_limit × max_fee_per_gas, less what the address already held.
  gas_limit numeric(78, 0) check (gas_limit > 0),
  max_fee_per_gas numeric(78, 0) check (max_fee_per_gas > 0),
  -- Native coin sent by the gas station (0: the address already held enough).
  top_up_amount numeric(78, 0) check (top_up_amount >= 0),
  top_up_nonce bigint check (top_up_nonce >= 0),
  top_up_raw_tx text check (top_up_raw_tx ~ '^0x[0-9a-f]+$'),
  top_up_tx_hash text check (top_up_tx_hash ~ '^0x[0-9a-f]{64}$'),
  top_up_gas_used numeric(78, 0) check (top_up_gas_used > 0),
  top_up_effective_gas_price numeric(78, 0) check (top_up_effective_gas_price >= 0),
  sweep_nonce bigint check (sweep_nonce >= 0),
  sweep_raw_tx text check (sweep_raw_tx ~ '^0x[0-9a-f]+$'),
  sweep_tx_hash text check (sweep_tx_hash ~ '^0x[0-9a-f]{64}$'),
  sweep_block_number bigint check (sweep_block_number >= 0),
  sweep_gas_used numeric(78, 0) check (sweep_gas_used > 0),
  sweep_effective_gas_price numeric(78, 0) check (sweep_effective_gas_price >= 0),
  -- Broadcasts of the current transaction (first send and rebroadcasts): tells a stuck one apart.
  broadcasts integer not null default 0 check (broadcasts >= 0),
  last_broadcast_at timestamptz,
  -- Why the sweep failed, or the last problem that keeps it waiting (fees over the cap, estimate reverts).
  error text check (length(error) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finalized_at timestamptz,
  -- Pair assertions of sweep.repo.ts's row mapping: each status carries the fields it needs.
  check (status = 'planned' or status = 'failed' or (gas_limit is not null and max_fee_per_gas is not null
    and top_up_amount is not null)),
  check ((top_up_raw_tx is null) = (top_up_tx_hash is null) and (top_up_raw_tx is null) = (top_up_nonce is null)),
  check (status <> 'gas-funding' or top_up_raw_tx is not null),
  check ((sweep_raw_tx is null) = (sweep_tx_hash is null) and (sweep_raw_tx is null) = (sweep_nonce is null)),
  check (status not in ('sent', 'finalized') or sweep_raw_tx is not null),
  check ((status = 'finalized') = (finalized_at is not null)),
  check (status <> 'finalized' or (sweep_gas_used is not null and sweep_effective_gas_price is not null)),
  check ((top_up_gas_used is null) = (top_up_effective_gas_price is null)),
  check ((sweep_gas_used is null) = (sweep_effective_gas_price is null))
);
-- Never two open sweeps of one asset at one address on one network.
create unique index sweeps_one_open_per_asset_idx on sweeps (network, deposit_address, asset_id)
  where status in ('planned', 'gas-funding', 'ready', 'sent');
-- Stricter, and the reason the first can never fire in practice: an address's native balance (the
-- top-up is computed from it) and its nonce (read from the chain) are per address, so one sweep per
-- address is in flight at a time, whatever the asset.
create unique index sweeps_one_open_per_address_idx on sweeps (network, deposit_address)
  where status in ('planned', 'gas-funding', 'ready', 'sent');
create index sweeps_open_idx on sweeps (network, created_at)
  where status in ('planned', 'gas-funding', 'ready', 'sent');
create index sweeps_address_idx on sweeps (network, deposit_address, asset_id, created_at);

-- Which credited payments a sweep moves. A payment belongs to at most one live sweep; a failed sweep's
-- links are deactivated (kept for history) so its payments are swept again.
create table sweep_payments (
  sweep_id text not null references sweeps (id),
  payment_id text not null references payments (id),
  active boolean not null default true,
  primary key (sweep_id, payment_id)
);
create unique index sweep_payments_live_idx on sweep_payments (payment_id) where active;

-- The gas station's (hot wallet's) nonce sequence per network. The node's pending count alone is not a
-- source of truth: two signers (or a crash and a restart) reading it would sign two transactions with
-- one nonce. A signer locks this row (SELECT … FOR UPDATE), signs, stores its transaction and advances
-- the row in one commit. Payouts from the hot wallet must take their nonces from here too.
create table hot_wallet_nonces (
  network text not null,
  address text not null check (address ~ '^0x[0-9a-f]{40}$'),
  next_nonce bigint not null check (next_nonce >= 0),
  updated_at timestamptz not null default now(),
  primary key (network, address)
);

-- The gateway's own wallets live on the reserved HD account m/44'/60'/2147483647' (the largest hardened
-- index). Merchants get accounts from 0 upward without gaps (0004-keys.sql), so they never reach it; this
-- is the database half of that pair assertion (sweeps.int.test.ts checks the TypeScript half).
alter table hd_accounts add constraint hd_accounts_gateway_account_reserved check (account_index < 2147483647);
