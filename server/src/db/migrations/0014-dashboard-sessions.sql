-- Owned by server/src/modules/sessions. docs/adr/0017-dashboard-sessions-and-live-updates.md.
-- Dashboard users are the stores' payout approvers (0012-payouts.sql): the same person, roles and TOTP
-- second factor. This adds what signing in needs beside them, without touching the payouts tables.

-- A sign-in name and a scrypt password hash per approver who may use the dashboard.
create table dashboard_credentials (
  approver_id text primary key references payout_approvers (id),
  merchant_id text not null references merchants (id),
  -- case-folded on write; unique across the installation so sign-in needs no store id
  login text not null unique check (login ~ '^[a-z0-9._@-]{1,100}$'),
  -- `scrypt$N$r$p$salt_b64$hash_b64`: parameters travel with the hash so they can be raised later
  password_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One signed-in browser. Only the SHA-256 of the cookie's token is stored: a database read does not
-- yield a usable session.
create table dashboard_sessions (
  id text primary key,
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  approver_id text not null references payout_approvers (id),
  merchant_id text not null references merchants (id),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  last_seen_at timestamptz not null,
  revoked_at timestamptz,
  check (expires_at > created_at)
);
create index dashboard_sessions_approver_idx on dashboard_sessions (approver_id, created_at);

-- Failed sign-ins, counted per login over a window (rate limit shared by every API process).
create table dashboard_sign_in_failures (
  id bigserial primary key,
  login text not null,
  reason text not null check (reason in ('unknown-login', 'password', 'totp')),
  created_at timestamptz not null
);
create index dashboard_sign_in_failures_login_idx on dashboard_sign_in_failures (login, created_at);
