-- Owned by server/src/modules/customers (customers) and server/src/modules/invoices (invoices,
-- invoice_payment_options, invoice_marks).

-- End customers of an operator: each has a permanent deposit address (deposit_addresses, owner_kind
-- 'customer'). external_id is the operator's own id for the customer, unique per store.
create table customers (
  id text primary key,
  merchant_id text not null references merchants (id),
  external_id text check (length(external_id) between 1 and 200),
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  unique (merchant_id, external_id)
);
create index customers_merchant_idx on customers (merchant_id, id);

create table invoices (
  id text primary key,
  merchant_id text not null references merchants (id),
  status text not null check (status in ('new', 'processing', 'settled', 'expired', 'invalid')),
  exception text not null check (exception in ('none', 'paid_partial', 'paid_over', 'paid_late', 'marked')),
  -- what the merchant priced in: a stablecoin symbol (USDT, USDC) or a fiat currency (USD, EUR)
  currency text not null check (currency ~ '^[A-Z]{3,5}$'),
  amount text not null,
  -- the amount due in value units (10^-36 of one stablecoin token), exact
  due_value numeric(78, 0) not null check (due_value > 0),
  -- a fiat invoice's rate, locked at creation: {"source", "rate" (tokens per unit of currency), "locked_at"}
  rate jsonb,
  tolerance_basis_points integer not null check (tolerance_basis_points between 0 and 5000),
  expires_at timestamptz not null,
  monitoring_until timestamptz not null,
  order_id text check (length(order_id) <= 200),
  description text check (length(description) <= 1000),
  redirect_url text check (length(redirect_url) <= 2000),
  metadata jsonb not null default '{}'::jsonb,
  -- the payment link this invoice was opened from, if any
  payment_link_id text,
  revision integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (monitoring_until >= expires_at)
);
create index invoices_merchant_idx on invoices (merchant_id, created_at desc, id);
create index invoices_open_idx on invoices (expires_at) where status in ('new', 'processing');

-- One line per accepted asset: where to pay and exactly how much, in the asset's minor units.
create table invoice_payment_options (
  invoice_id text not null references invoices (id),
  network text not null,
  asset_id text not null,
  address text not null references deposit_addresses (address),
  amount_due numeric(78, 0) not null check (amount_due > 0),
  primary key (invoice_id, asset_id)
);

-- Manual status marks are audited: who (API key), when, what, why.
create table invoice_marks (
  id bigserial primary key,
  invoice_id text not null references invoices (id),
  api_key_id text not null,
  from_status text not null,
  to_status text not null,
  reason text check (length(reason) <= 1000),
  created_at timestamptz not null default now()
);
create trigger invoice_marks_immutable before update or delete on invoice_marks
  for each row execute function refuse_change();
