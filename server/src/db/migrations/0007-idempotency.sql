-- Owned by server/src/http/idempotency.ts (docs/adr/0009-api-contract-and-idempotency.md).

-- One row per (store, Idempotency-Key). The first request inserts it (the claim) before it runs; when it
-- finishes, its status and body are stored and repeats replay them. 5xx results are never stored: the
-- claim is deleted so a retry runs again. Rows expire after 24 h (httpLimits.idempotencyKeyRetentionMs).
create table idempotency_keys (
  merchant_id text not null references merchants (id),
  key text not null check (key ~ '^[A-Za-z0-9_:.-]{1,255}$'),
  -- For the operator reading the table; the hash below is what decides "same request".
  operation_id text not null check (length(operation_id) between 1 and 100),
  -- SHA-256 of method, path and canonical JSON body: the same key with another request is refused.
  request_hash bytea not null check (length(request_hash) = 32),
  -- Random per claim: only the request holding the claim may complete or release it, so a request that
  -- lost its claim to a retry (after the lease) cannot overwrite the retry's result.
  claim_token text not null,
  claimed_at timestamptz not null,
  expires_at timestamptz not null check (expires_at > claimed_at),
  response_status integer check (response_status between 200 and 499),
  response_body jsonb,
  completed_at timestamptz,
  primary key (merchant_id, key),
  check ((completed_at is null) = (response_status is null)),
  check (completed_at is not null or response_body is null)
);
-- The cleanup job deletes expired rows oldest first.
create index idempotency_keys_expires_idx on idempotency_keys (expires_at);
