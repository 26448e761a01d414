-- Owned by server/src/jobs (jobs) and server/src/modules/events (events).

-- The Postgres-backed job queue (docs/adr/0003-job-queue.md). A state change and the job it triggers
-- commit in one transaction. Succeeded jobs are deleted; dead ones stay for the operator to see.
create table jobs (
  id bigserial primary key,
  kind text not null check (kind ~ '^[a-z][a-z0-9-]*$'),
  payload jsonb not null default '{}'::jsonb,
  status text not null default 'queued' check (status in ('queued', 'running', 'dead')),
  run_at timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  attempts_max integer not null check (attempts_max >= 1),
  -- A job with a dedupe key is enqueued at most once while it exists (e.g. one scan per network).
  dedupe_key text unique,
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status = 'running') = (locked_until is not null))
);
create index jobs_ready_idx on jobs (run_at) where status = 'queued';
create index jobs_lease_idx on jobs (locked_until) where status = 'running';

-- The transactional outbox: every domain event is written in the transaction of the change it reports.
-- Deliveries (webhooks, NATS) read from here after commit. Rows are immutable.
create table events (
  id text primary key,
  sequence bigserial not null unique,
  type text not null check (type ~ '^[a-z_]+\.[a-z_]+$'),
  merchant_id text,
  subject_id text,
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index events_merchant_idx on events (merchant_id, sequence);

create function refuse_change() returns trigger language plpgsql as $$
begin
  raise exception '% rows are immutable', tg_table_name using errcode = 'restrict_violation';
end $$;
create trigger events_immutable before update or delete on events
  for each row execute function refuse_change();
