-- Owned by server/src/modules/payment-links (payment_links) and server/src/modules/refunds (refunds).
-- docs/adr/0013-payment-links-and-refunds.md.

-- A shareable URL that opens an invoice per buyer. Amounts are minor units of the link's currency counted
-- in amount_decimals: the fewest decimals among the accepted assets when the link was made (2 for fiat),
-- so a buyer's amount is checked against the bounds exactly.
create table payment_links (
  id text primary key,
  merchant_id text not null references merchants (id),
  currency text not null check (currency ~ '^[A-Z]{3,5}$'),
  amount_decimals integer not null check (amount_decimals between 0 and 36),
  -- a fixed price, or null when the buyer chooses within [amount_min, amount_max]
  amount numeric(78, 0) check (amount > 0),
  amount_min numeric(78, 0) check (amount_min > 0),
  amount_max numeric(78, 0),
  -- accepted networks; null = every configured network when an invoice opens
  networks text[] check (cardinality(networks) between 1 and 32),
  description text check (length(description) between 1 and 1000),
  redirect_url text check (length(redirect_url) <= 2000),
  one_time boolean not null,
  -- a one-time link's only invoice, set in the transaction that creates it (the link row is locked)
  invoice_id text references invoices (id),
  expires_at timestamptz,
  deactivated_at timestamptz,
  created_at timestamptz not null default now(),
  check ((amount is null) = (amount_min is not null and amount_max is not null)),
  check (amount is null or (amount_min is null and amount_max is null)),
  check (amount_min <= amount_max),
  check (one_time or invoice_id is null)
);
create index payment_links_merchant_idx on payment_links (merchant_id, id);

-- Money going back to a buyer. Opening one reserves `amount` in the ledger (pending transfers to
-- payout-clearing) in the same transaction as this row, split between the invoice's buyer credit and the
-- store's available balance. Amounts are minor units of asset_id.
create table refunds (
  id text primary key,
  merchant_id text not null references merchants (id),
  invoice_id text not null references invoices (id),
  asset_id text not null,
  network text not null,
  -- the token's symbol and decimals when opened, so a refund reads right even if the config changes
  symbol text not null,
  decimals integer not null check (decimals between 0 and 36),
  amount numeric(78, 0) not null check (amount > 0),
  from_buyer_credit numeric(78, 0) not null check (from_buyer_credit >= 0),
  from_merchant_balance numeric(78, 0) not null check (from_merchant_balance >= 0),
  -- the pending ledger transfers holding each part; null when that part is zero
  buyer_credit_reservation_id text,
  merchant_reservation_id text,
  reason text check (length(reason) between 1 and 1000),
  -- 'expired' is not stored: it is awaiting_* past expires_at, when the ledger lets the reservation lapse
  status text not null check (status in ('awaiting_destination', 'awaiting_payout', 'cancelled')),
  -- SHA-256 of the buyer's one-time link token; the token itself is never stored
  link_token_hash bytea not null unique check (length(link_token_hash) = 32),
  destination text check (destination ~ '^0x[0-9a-fA-F]{40}$'),
  api_key_id text not null,
  expires_at timestamptz not null,
  destination_submitted_at timestamptz,
  cancelled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (amount = from_buyer_credit + from_merchant_balance),
  check ((from_buyer_credit > 0) = (buyer_credit_reservation_id is not null)),
  check ((from_merchant_balance > 0) = (merchant_reservation_id is not null)),
  check (status <> 'awaiting_destination' or destination is null),
  check (status <> 'awaiting_payout' or destination is not null),
  check ((destination is null) = (destination_submitted_at is null)),
  check ((status = 'cancelled') = (cancelled_at is not null))
);
create index refunds_invoice_idx on refunds (invoice_id, id);
create index refunds_merchant_idx on refunds (merchant_id, id);
