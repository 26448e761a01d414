-- Owned by server/src/modules/payouts. docs/adr/0014-payouts-policy-and-tx-manager.md.
-- The hot wallet's nonce counter is `hot_wallet_nonces` (0009-sweeps.sql), shared with sweeps: both sign
-- from the same address, so both take nonces from the same locked row.

-- One payout: `amount` (minor units of asset_id) reserved in the ledger by `reservation_id` (a pending
-- transfer merchant available → payout-clearing) in the transaction that inserts this row.
create table payouts (
  id text primary key,
  merchant_id text not null references merchants (id),
  network text not null,
  asset_id text not null,
  token_address text not null check (token_address ~ '^0x[0-9a-f]{40}$'),
  decimals integer not null check (decimals between 0 and 36),
  -- EIP-55 form as given (checked); screening and matching use lower(destination)
  destination text not null,
  amount numeric(78, 0) not null check (amount > 0),
  -- amount × 10^(18 − decimals): policy limits and rolling windows in one unit across tokens
  amount_scaled numeric(78, 0) not null check (amount_scaled > 0),
  external_reference text check (length(external_reference) between 1 and 200),
  status text not null check (status in ('requested', 'pending_approval', 'approved', 'delayed', 'queued',
    'broadcast', 'confirmed', 'finalized', 'failed', 'cancelled', 'blocked')),
  -- +1 on every change: approvals quote it, so nobody approves a payout they did not look at
  revision integer not null default 1 check (revision >= 1),
  initiator_api_key_id text not null,
  policy_version integer,
  rule_id text,
  approvals_required integer not null default 0 check (approvals_required >= 0),
  approval_role text,
  delay_seconds integer check (delay_seconds > 0),
  execute_after timestamptz,
  reservation_id text not null unique,
  nonce bigint check (nonce >= 0),
  mined_hash text,
  block_number numeric(78, 0),
  gas_used numeric(78, 0),
  effective_gas_price numeric(78, 0),
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- a signed payout has exactly one nonce, for ever: replacements reuse it
  check (status not in ('broadcast', 'confirmed', 'finalized') or nonce is not null)
);
create index payouts_merchant_idx on payouts (merchant_id, id);
create index payouts_open_idx on payouts (network, status, id)
  where status in ('approved', 'delayed', 'queued', 'broadcast', 'confirmed');
create index payouts_window_idx on payouts (merchant_id, created_at);
create unique index payouts_external_reference_idx on payouts (merchant_id, external_reference)
  where external_reference is not null;

-- Every transaction signed for a payout: the first and each fee-bumped replacement (same nonce). Kept
-- for ever: any of them may be the one mined, so receipts are looked up for all.
create table payout_transactions (
  payout_id text not null references payouts (id),
  attempt integer not null check (attempt >= 1),
  nonce bigint not null check (nonce >= 0),
  tx_hash text not null unique check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text not null,
  max_fee_per_gas numeric(78, 0) not null,
  max_priority_fee_per_gas numeric(78, 0) not null,
  broadcasts integer not null default 0,
  last_broadcast_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (payout_id, attempt)
);

-- People who approve. The TOTP secret is returned once at enrolment and never again.
create table payout_approvers (
  id text primary key,
  merchant_id text not null references merchants (id),
  name text not null check (length(name) between 1 and 200),
  roles text[] not null check (roles <@ array['initiator', 'approver', 'treasurer', 'admin', 'auditor']),
  api_key_id text,
  totp_secret text not null,
  -- the last TOTP step used: a code is good once
  totp_last_step bigint,
  created_at timestamptz not null default now()
);
create index payout_approvers_merchant_idx on payout_approvers (merchant_id);

create table payout_approvals (
  payout_id text not null references payouts (id),
  approver_id text not null references payout_approvers (id),
  decision text not null check (decision in ('approve', 'reject')),
  api_key_id text not null,
  revision integer not null,
  reason text,
  created_at timestamptz not null default now(),
  -- distinct approvers: one decision each
  primary key (payout_id, approver_id)
);

-- Versioned rules per store. A version is proposed by one person and activated by another approver.
create table payout_policies (
  merchant_id text not null references merchants (id),
  version integer not null check (version >= 1),
  policy jsonb not null,
  status text not null check (status in ('proposed', 'active', 'superseded', 'rejected')),
  proposed_by text not null,
  approved_by text,
  approved_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (merchant_id, version),
  check (approved_by is null or approved_by <> proposed_by)
);
create unique index payout_policies_active_idx on payout_policies (merchant_id) where status = 'active';

-- Panic switches: merchant_id '*' = every store, network '*' = every network. While one covering a payout
-- is engaged, nothing is signed for it (approved payouts wait in their status).
create table payout_panic (
  merchant_id text not null,
  network text not null,
  engaged boolean not null,
  changed_by text not null,
  reason text,
  changed_at timestamptz not null default now(),
  primary key (merchant_id, network)
);

-- Whitelisted destinations per store (the policy's `whitelisted` / `address_book`).
create table payout_address_book (
  merchant_id text not null references merchants (id),
  address text not null check (address ~ '^0x[0-9a-f]{40}$'),
  label text,
  whitelisted boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (merchant_id, address)
);

-- Every decision about payouts, policies and panic switches, append-only.
create table payout_audit (
  id bigserial primary key,
  merchant_id text not null,
  subject_id text not null,
  action text not null,
  actor text not null,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index payout_audit_subject_idx on payout_audit (subject_id, id);
