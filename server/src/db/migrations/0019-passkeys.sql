-- Owned by server/src/modules/sessions. docs/adr/0019-passkeys.md.
-- Passkeys (WebAuthn credentials) of dashboard users, and the challenges the gateway issued for them.

-- One registered passkey of a person (a payout approver with a dashboard login).
create table dashboard_passkeys (
  id text primary key,
  approver_id text not null references payout_approvers (id),
  merchant_id text not null references merchants (id),
  -- base64url of the credential id the authenticator chose (WebAuthn allows up to 1023 bytes)
  credential_id text not null unique
    check (credential_id ~ '^[A-Za-z0-9_-]+$' and length(credential_id) between 16 and 1364),
  -- the COSE_Key exactly as the authenticator sent it; parsed only by @simplewebauthn/server
  public_key bytea not null check (length(public_key) between 1 and 2048),
  -- the authenticator's signature counter (uint32); 0 for authenticators that keep none
  sign_count bigint not null check (sign_count between 0 and 4294967295),
  transports text[] not null default '{}',
  -- the relying party id (host) it was created for: an assertion is checked against this one
  rp_id text not null check (length(rp_id) between 1 and 253),
  label text not null check (length(label) between 1 and 100),
  created_at timestamptz not null,
  last_used_at timestamptz,
  -- set when an assertion came with a counter that did not move forward (a cloned authenticator?)
  counter_regressed_at timestamptz
);
create index dashboard_passkeys_approver_idx on dashboard_passkeys (approver_id, created_at);

-- A challenge the gateway handed to a browser, for one purpose (and, for approvals, one action). Only
-- its SHA-256 is stored; it is good once (consumed_at) and until expires_at.
create table dashboard_passkey_challenges (
  challenge_hash text primary key check (challenge_hash ~ '^[0-9a-f]{64}$'),
  purpose text not null check (
    purpose in ('register', 'sign-in', 'payout-decision', 'policy-activation', 'remove-passkey')
  ),
  -- the person it was issued to; null for sign-in (they are not known until the assertion names them)
  approver_id text references payout_approvers (id),
  -- what it may authorise: `<payout id>@<revision>:<approve|reject>`, `policy:<version>`, a passkey id
  subject text,
  origin text not null,
  rp_id text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  consumed_at timestamptz,
  check (expires_at > created_at),
  check ((purpose = 'sign-in') = (approver_id is null)),
  check ((purpose in ('payout-decision', 'policy-activation', 'remove-passkey')) = (subject is not null))
);
create index dashboard_passkey_challenges_expiry_idx on dashboard_passkey_challenges (expires_at);
create index dashboard_passkey_challenges_open_idx
  on dashboard_passkey_challenges (purpose, expires_at) where consumed_at is null;
