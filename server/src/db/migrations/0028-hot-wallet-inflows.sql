-- Owned by server/src/modules/treasury. docs/adr/0016-signers-and-cold-wallet.md (decision 9),
-- docs/adr/0027-chain-reconciliation.md. Inflows to the hot wallet that are no payment, booked in the ledger:
-- top-ups from cold (found by the watch-treasury job, or booked by hand) and deliberate deposits by the
-- operator (`sluice treasury book-inflow`). Amounts are exact uint256 values (NUMERIC(78,0)).

-- One booked inflow: one final chain fact (a token Transfer log, or a transaction's native value) and the
-- ledger transfer that books it, whose id is this row's id: `hot-inflow:` + sha256 of
-- (network, tx hash, log index | native). Written in the transaction of the ledger transfer and its event,
-- so a fact is booked once whoever finds it first (the scan or the command). Kept for ever: the audit row.
create table treasury_inflows (
  id text primary key check (id ~ '^hot-inflow:[0-9a-f]+$' and length(id) = 75),
  network text not null,
  tx_hash text not null check (tx_hash ~ '^0x[0-9a-f]+$' and length(tx_hash) = 66),
  -- null: the transaction's native value (a transaction carries at most one)
  log_index integer check (log_index >= 0),
  asset_id text not null,
  -- null for the native coin
  token_address text check (token_address ~ '^0x[0-9a-f]+$' and length(token_address) = 42),
  from_address text not null check (from_address ~ '^0x[0-9a-f]+$' and length(from_address) = 42),
  hot_wallet_address text not null
    check (hot_wallet_address ~ '^0x[0-9a-f]+$' and length(hot_wallet_address) = 42),
  amount numeric(78, 0) not null check (amount > 0),
  block_number bigint not null check (block_number >= 0),
  -- the ledger account credited: the cold wallet's (sent from the configured cold address), else the
  -- operator's capital
  source text not null check (source in ('cold-wallet', 'operator-capital')),
  -- booked first by the job's scan, or by the command (then with the operator's reason)
  booked_by text not null check (booked_by in ('scan', 'command')),
  reason text check (length(reason) between 1 and 500),
  -- the top-up proposal this answers, when one was open at the transfer's block
  proposal_id text references treasury_proposals (id),
  -- part of the amount first booked operator-capital → cold-wallet: cold holdings the ledger never saw
  opening_amount numeric(78, 0) check (opening_amount > 0),
  booked_at timestamptz not null default now(),
  check ((log_index is null) = (token_address is null)),
  check (booked_by = 'scan' or reason is not null),
  check (booked_by = 'command' or source = 'cold-wallet'),
  check (source = 'cold-wallet' or (proposal_id is null and opening_amount is null))
);
-- The chain fact's natural key (the id is derived from it; this says so in the schema).
create unique index treasury_inflows_fact_idx on treasury_inflows (network, tx_hash, coalesce(log_index, -1));
create index treasury_inflows_booked_idx on treasury_inflows (network, booked_at desc);

-- Where the scan for top-ups from cold stands on each network: the next block to read. Created at the
-- finalized block when the scan first sees a (cold, hot) pair, and started again there when either
-- address changes; earlier transfers are booked with the command.
create table treasury_inflow_cursors (
  network text primary key,
  cold_address text not null check (cold_address ~ '^0x[0-9a-f]+$' and length(cold_address) = 42),
  hot_wallet_address text not null
    check (hot_wallet_address ~ '^0x[0-9a-f]+$' and length(hot_wallet_address) = 42),
  started_block bigint not null check (started_block >= 0),
  next_block bigint not null check (next_block >= started_block),
  updated_at timestamptz not null default now()
);
