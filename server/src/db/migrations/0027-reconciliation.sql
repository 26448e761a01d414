-- Owned by server/src/modules/reconciliation. docs/adr/0027-chain-reconciliation.md.
-- The hot wallet's on-chain balance at a finalized block against its ledger account, per network and
-- asset (each configured token and the native coin). Amounts are exact uint256 values (NUMERIC(78,0));
-- the ledger side and the drift are signed: a debit-normal account without a limit may go below zero,
-- and drift = chain − (ledger + booked ahead) is negative when the ledger says more than the chain holds.

-- One row per asset per check. Bounded: rows older than reconciliationLimits.checkRetentionMs are pruned
-- by the check itself (the latest row of each asset is always newer). A failed check (RPC down, wrong
-- chain) is kept with its reason and no figures: it says nothing about drift and never opens an incident.
create table reconciliation_checks (
  id bigint generated always as identity primary key,
  network text not null,
  asset_id text not null,
  status text not null check (status in ('matched', 'drift', 'failed')),
  block_number bigint check (block_number >= 0),
  chain_balance numeric(78, 0) check (chain_balance >= 0),
  ledger_balance numeric(78, 0),
  -- booked in the ledger for transactions mined after block_number (gas top-ups are booked at their
  -- receipt, not at finality): added back to the ledger side before comparing
  booked_ahead numeric(78, 0) check (booked_ahead >= 0),
  drift numeric(78, 0),
  -- the hot wallet's balance of this asset or its nonce changed between block_number and the head:
  -- a difference may still be in flight
  moving boolean,
  -- the persistence rule (reconciliation.state.ts): consecutive non-failed checks of this asset that saw
  -- this same drift, and when the first of them ran
  streak_checks integer check (streak_checks >= 1),
  streak_started_at timestamptz,
  error text check (length(error) <= 500),
  checked_at timestamptz not null,
  check ((status = 'failed') = (error is not null)),
  check (status = 'failed' or (block_number is not null and chain_balance is not null
    and ledger_balance is not null and booked_ahead is not null and drift is not null and moving is not null
    and streak_checks is not null and streak_started_at is not null)),
  check (status <> 'matched' or drift = 0),
  check (status <> 'drift' or drift <> 0)
);
create index reconciliation_checks_asset_idx on reconciliation_checks (network, asset_id, checked_at desc);

-- A drift that persisted (reconciliationLimits: the same drift on incidentChecksMin consecutive checks
-- spanning incidentSpanMsMin) until a check sees none. At most one open per (network, asset); kept for
-- the record once cleared.
create table reconciliation_incidents (
  id text primary key check (id ~ '^rci_'),
  network text not null,
  asset_id text not null,
  -- the drift that opened it, and the latest one seen while it stays open
  opening_drift numeric(78, 0) not null check (opening_drift <> 0),
  latest_drift numeric(78, 0) not null check (latest_drift <> 0),
  opened_block_number bigint not null check (opened_block_number >= 0),
  first_seen_at timestamptz not null,
  opened_at timestamptz not null,
  cleared_block_number bigint check (cleared_block_number >= 0),
  cleared_at timestamptz,
  check ((cleared_at is null) = (cleared_block_number is null))
);
create unique index reconciliation_incidents_one_open_idx on reconciliation_incidents (network, asset_id)
  where cleared_at is null;
