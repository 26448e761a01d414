-- Owned by server/src/modules/merchants.
create table merchants (
  id text primary key,
  name text not null check (length(name) between 1 and 200),
  -- At most one demo merchant, created by `npm start` on the devnet.
  is_demo boolean not null default false,
  created_at timestamptz not null default now()
);
create unique index merchants_one_demo_idx on merchants (is_demo) where is_demo;

-- API keys are shown once and stored as SHA-256 of the whole key (the key is 256 random bits, so a
-- fast hash is enough); `lookup_prefix` finds the row without scanning.
create table api_keys (
  id text primary key,
  merchant_id text not null references merchants (id),
  label text not null check (length(label) between 1 and 100),
  lookup_prefix text not null unique,
  secret_hash bytea not null,
  scopes text[] not null check (cardinality(scopes) >= 1),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_merchant_idx on api_keys (merchant_id);
