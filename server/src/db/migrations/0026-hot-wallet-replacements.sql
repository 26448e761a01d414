-- Owned by server/src/modules/treasury (treasury_sweep_transactions) and server/src/modules/sweeps
-- (sweep_top_up_transactions). docs/adr/0016-signers-and-cold-wallet.md, docs/adr/0012-sweeping.md.

-- Every signed attempt of a sweep to cold and of a deposit sweep's gas top-up, as payout_transactions keeps
-- a payout's. Both take their nonce from the hot wallet's shared counter (hot_wallet_nonces), so one priced
-- out at nonce N holds back every later hot-wallet transaction, payouts included, until it is replaced at N
-- with higher fees. Any attempt at N may still be mined (the first one too, after its replacement was
-- sent), so each is stored before it is broadcast, in the transaction that decides to send it, and the
-- receipt of every attempt is looked for. Only one can be mined: they share the nonce.
create table treasury_sweep_transactions (
  proposal_id text not null references treasury_proposals (id),
  attempt integer not null check (attempt >= 1),
  nonce bigint not null check (nonce >= 0),
  tx_hash text not null unique check (length(tx_hash) = 66 and tx_hash ~ '^0x[0-9a-f]+$'),
  raw_tx text not null check (raw_tx ~ '^0x[0-9a-f]+$'),
  max_fee_per_gas numeric(78, 0) not null check (max_fee_per_gas >= 0),
  max_priority_fee_per_gas numeric(78, 0) not null
    check (max_priority_fee_per_gas >= 0 and max_priority_fee_per_gas <= max_fee_per_gas),
  broadcasts integer not null default 0 check (broadcasts >= 0),
  last_broadcast_at timestamptz,
  -- the signing worker's clock (the stuck-attempt wait is measured on it)
  created_at timestamptz not null default now(),
  primary key (proposal_id, attempt)
);

-- The single transaction each sweep to cold signed before this migration is its attempt 1.
insert into treasury_sweep_transactions (proposal_id, attempt, nonce, tx_hash, raw_tx, max_fee_per_gas,
    max_priority_fee_per_gas, created_at)
  select id, 1, nonce, tx_hash, lower(raw_tx), max_fee_per_gas, max_priority_fee_per_gas, updated_at
  from treasury_proposals
  where raw_tx is not null and nonce is not null and tx_hash is not null
    and max_fee_per_gas is not null and max_priority_fee_per_gas is not null;

create table sweep_top_up_transactions (
  sweep_id text not null references sweeps (id),
  attempt integer not null check (attempt >= 1),
  nonce bigint not null check (nonce >= 0),
  tx_hash text not null unique check (length(tx_hash) = 66 and tx_hash ~ '^0x[0-9a-f]+$'),
  raw_tx text not null check (raw_tx ~ '^0x[0-9a-f]+$'),
  max_fee_per_gas numeric(78, 0) not null check (max_fee_per_gas >= 0),
  -- null only on the attempt 1 rows copied below: sweeps did not store the top-up's tip before this
  -- migration (sweep.repo.ts reads it from raw_tx then)
  max_priority_fee_per_gas numeric(78, 0)
    check (max_priority_fee_per_gas >= 0 and max_priority_fee_per_gas <= max_fee_per_gas),
  broadcasts integer not null default 0 check (broadcasts >= 0),
  last_broadcast_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (sweep_id, attempt),
  check (max_priority_fee_per_gas is not null or attempt = 1)
);

-- Each top-up signed before this migration is its sweep's attempt 1. Its max fee is the sweep's planned
-- max fee: both were computed from one fee-market reading (sweep.send.ts fundPlannedSweep).
insert into sweep_top_up_transactions (sweep_id, attempt, nonce, tx_hash, raw_tx, max_fee_per_gas,
    max_priority_fee_per_gas, broadcasts, last_broadcast_at, created_at)
  select id, 1, top_up_nonce, top_up_tx_hash, top_up_raw_tx, max_fee_per_gas, null,
    case when status = 'gas-funding' then broadcasts else 0 end,
    case when status = 'gas-funding' then last_broadcast_at end, updated_at
  from sweeps
  where top_up_raw_tx is not null and max_fee_per_gas is not null;
