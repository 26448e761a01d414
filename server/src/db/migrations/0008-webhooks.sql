-- Owned by server/src/modules/webhooks (docs/adr/0010-webhooks-and-event-stream.md).

-- A store's webhook endpoints. The signing secret is needed in plaintext to sign (HMAC), so it is stored
-- as is: never logged, never returned after creation/rotation. Encrypting it with the master key is a
-- follow-up (ADR 0010).
create table webhook_endpoints (
  id text primary key check (id ~ '^whk_'),
  merchant_id text not null references merchants (id),
  url text not null check (length(url) between 1 and 2048),
  description text not null default '' check (length(description) <= 200),
  -- Event types the endpoint receives; '{*}' means every type.
  event_types text[] not null check (cardinality(event_types) between 1 and 64),
  -- http:// to loopback/private hosts and link-local targets are allowed only with this flag (development).
  allow_insecure boolean not null default false,
  enabled boolean not null default true,
  disabled_reason text check (disabled_reason in ('manual', 'failing')),
  disabled_at timestamptz,
  secret text not null check (secret ~ '^whsec_'),
  -- After a rotation the old secret keeps signing (a second signature) until it expires.
  previous_secret text check (previous_secret ~ '^whsec_'),
  previous_secret_expires_at timestamptz,
  -- Set at the first failed attempt after a success, cleared by a success: the auto-disable clock.
  failing_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (enabled = (disabled_reason is null)),
  check ((disabled_reason is null) = (disabled_at is null)),
  check ((previous_secret is null) = (previous_secret_expires_at is null))
);
create index webhook_endpoints_merchant_idx on webhook_endpoints (merchant_id, created_at);

-- One row per (endpoint, event): retries and redeliveries reuse it, so a receiver sees one webhook-id
-- (the event id) however often it is sent. Deleting an endpoint deletes its delivery history.
create table webhook_deliveries (
  id text primary key check (id ~ '^whd_'),
  endpoint_id text not null references webhook_endpoints (id) on delete cascade,
  event_id text not null references events (id),
  -- Copied from the event so listing a store's deliveries needs no join and stays on one index.
  merchant_id text not null,
  event_type text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  -- Attempt series: 1, then +1 per redelivery. Jobs carry the series they were enqueued for; a job of an
  -- older series finds a newer one and does nothing.
  series integer not null default 1 check (series >= 1),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (endpoint_id, event_id),
  check ((status = 'delivered') = (delivered_at is not null))
);
create index webhook_deliveries_merchant_idx on webhook_deliveries (merchant_id, id desc);
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, id desc);
create index webhook_deliveries_event_idx on webhook_deliveries (event_id);

-- Every POST made, successful or not: what the merchant needs to debug their receiver.
create table webhook_delivery_attempts (
  id bigserial primary key,
  delivery_id text not null references webhook_deliveries (id) on delete cascade,
  series integer not null check (series >= 1),
  attempt integer not null check (attempt >= 1),
  started_at timestamptz not null,
  duration_ms integer not null check (duration_ms >= 0),
  status_code integer check (status_code between 100 and 599),
  error text check (length(error) <= 500),
  response_excerpt text check (length(response_excerpt) <= 1024),
  check ((status_code is null) <> (error is null))
);
create index webhook_delivery_attempts_delivery_idx on webhook_delivery_attempts (delivery_id, id desc);
