-- Owned by server/src/modules/keys (docs/adr/0007-key-custody.md).

-- Secrets at rest, each an AES-256-GCM envelope whose data key is wrapped by a master key. No column
-- holds plaintext; `master_key_id` (a fingerprint or name, never key material) tells the operator which
-- master key a row needs and lets rotation prove it moved every row.
create table secrets (
  id text primary key,
  kind text not null check (kind ~ '^[a-z][a-z0-9-]*$'),
  envelope jsonb not null check (jsonb_typeof(envelope) = 'object'),
  master_key_id text not null check (length(master_key_id) between 1 and 200),
  created_at timestamptz not null default now(),
  rotated_at timestamptz,
  -- When the backup phrase was shown (or imported): it is shown at most once.
  backup_revealed_at timestamptz
);
-- One HD root per installation: every merchant account and deposit address derives from it, so a
-- second one would silently fork the address space. `keys init` refuses instead.
create unique index secrets_one_hd_root_idx on secrets (kind) where kind = 'bip39-entropy';

-- Merchant → hardened BIP44 account m/44'/60'/{account_index}'. Indexes are allocated without gaps
-- (standard wallets stop account discovery at the first unused account), and a row never changes:
-- a different account would move every deposit address of the merchant.
create table hd_accounts (
  merchant_id text primary key references merchants (id),
  account_index integer not null unique check (account_index >= 0),
  -- Account-level extended public key: the API derives addresses from it and holds nothing secret.
  xpub text not null check (xpub ~ '^xpub[1-9A-HJ-NP-Za-km-z]{100,115}$'),
  created_at timestamptz not null default now()
);
create trigger hd_accounts_immutable before update or delete on hd_accounts
  for each row execute function refuse_change();
