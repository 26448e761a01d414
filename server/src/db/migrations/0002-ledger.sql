-- Owned by server/src/modules/ledger. The model is TigerBeetle's: four counters per account, immutable
-- transfers, two-phase pending → post | void | expire, linked batches, client ids as idempotency keys.
-- docs/adr/0006-ledger-hot-accounts.md explains the write path and the hot-account design. Every invariant
-- here is also checked in TypeScript (ledger.state.ts) before the write; this file is the half that still
-- holds when the TypeScript is bypassed.
--
-- Business errors are raised with SQLSTATE SL001 and the stable kebab-case code as the message;
-- ledger.errors.ts maps them (and the constraint names below) to AppErrors.
--
-- Limits mirrored from ledger.limits.ts (ledger.failures.int.test.ts checks both sides of each):
--   linkedTransfersMax 128, metadataKeysMax 32, metadataBytesMax 4096, transferIdLengthMax 100,
--   pendingTimeoutMsMax 2592000000, expireBatchSizeMax 500, hotDeltaFoldBatchSizeMax 10000.
--
-- Performance notes that shaped this file (measured, see the ADR): PostgreSQL rebuilds every CHECK
-- constraint and trigger WHEN clause of a table from its stored form for each statement that writes it,
-- so the tables written by every posting carry one CHECK each, written as a function call, and formats
-- are validated in (cached) trigger code instead; bounded regex repetitions ({0,107}) compile to large
-- automata, so lengths are checked separately.

create function ledger_fail(code text, detail text) returns void language plpgsql as $$
begin
  raise exception using errcode = 'SL001', message = code, detail = detail;
end $$;

-- Writes that would create or destroy money outside a transfer.
create function ledger_refuse_write() returns trigger language plpgsql as $$
begin
  raise exception '% on % is refused: ledger balances change only through transfers', tg_op, tg_table_name
    using errcode = 'restrict_violation';
end $$;

-- Stripe-style metadata: a flat object of string values, bounded in keys and in UTF-8 bytes of keys plus
-- values. ledger.state.ts measures the same way, so the two sides agree at the limit.
create function ledger_metadata_error(metadata jsonb) returns text language plpgsql immutable as $$
declare
  v_keys integer;
  v_bytes integer;
  v_non_strings integer;
begin
  if metadata = '{}'::jsonb then return null; end if;
  if jsonb_typeof(metadata) <> 'object' then return 'transfer-invalid'; end if;
  select count(*), coalesce(sum(octet_length(e.key) + octet_length(e.value #>> '{}')), 0),
         count(*) filter (where jsonb_typeof(e.value) <> 'string')
    into v_keys, v_bytes, v_non_strings
    from jsonb_each(metadata) e;
  if v_non_strings > 0 then return 'transfer-invalid'; end if;
  if v_keys > 32 or v_bytes > 4096 then return 'metadata-too-large'; end if;
  return null;
end $$;

-- The CHECK constraints call these rather than spelling their rule out: PostgreSQL rebuilds a CHECK
-- expression from its stored form for every statement that writes the table, and a call is a small one
-- (measured: 15-30 µs per statement for the spelled-out rule, 2-3 µs for the call).
create function ledger_balances_valid(
  debits_pending numeric, debits_posted numeric, credits_pending numeric, credits_posted numeric,
  debits_must_not_exceed_credits boolean, credits_must_not_exceed_debits boolean
) returns boolean language plpgsql immutable as $$
begin
  return debits_pending >= 0 and debits_posted >= 0 and credits_pending >= 0 and credits_posted >= 0
    and (not debits_must_not_exceed_credits or debits_pending + debits_posted <= credits_posted)
    and (not credits_must_not_exceed_debits or credits_pending + credits_posted <= debits_posted);
end $$;

create function ledger_transfer_valid(amount numeric, debit_account_id text, credit_account_id text)
returns boolean language plpgsql immutable as $$
begin
  return amount > 0
    and amount <= 115792089237316195423570985008687907853269984665640564039457584007913129639935
    and debit_account_id <> credit_account_id;
end $$;

create table ledger_accounts (
  id text collate "C" primary key,
  -- Network-specific: USDT on Tron is not USDT on Ethereum.
  asset_id text collate "C" not null,
  owner_type text not null,
  owner_id text collate "C" not null,
  purpose text collate "C" not null,
  normal_side text not null,
  debits_must_not_exceed_credits boolean not null default false,
  credits_must_not_exceed_debits boolean not null default false,
  -- Hot accounts receive their balance changes as rows in ledger_hot_deltas, folded in later by a single
  -- writer, so busy system accounts never serialise postings on their row lock. An overdraft limit needs
  -- the live balance at write time, so only accounts without a limit may be hot.
  hot boolean not null default false,
  debits_pending numeric(78, 0) not null default 0,
  debits_posted numeric(78, 0) not null default 0,
  credits_pending numeric(78, 0) not null default 0,
  credits_posted numeric(78, 0) not null default 0,
  created_at timestamptz not null default now(),
  constraint ledger_accounts_owner_purpose_asset_key unique (owner_type, owner_id, purpose, asset_id),
  -- The only CHECK here, as balance rows are written by every posting: what never changes after insert
  -- (formats, flags) is checked once, by ledger_accounts_check.
  constraint ledger_accounts_balances_valid check (ledger_balances_valid(debits_pending, debits_posted,
    credits_pending, credits_posted, debits_must_not_exceed_credits, credits_must_not_exceed_debits))
) with (fillfactor = 70); -- room for HOT updates of the balance rows

create function ledger_accounts_check() returns trigger language plpgsql as $$
begin
  if new.id !~ '^acc_[0-9A-Z]+$' or length(new.id) <> 30
     or new.asset_id !~ '^[A-Za-z0-9.-]+@[a-z][a-z0-9-]*$' or length(split_part(new.asset_id, '@', 1)) > 16
     or length(split_part(new.asset_id, '@', 2)) > 32
     or new.owner_type not in ('merchant', 'customer', 'system')
     or new.owner_id !~ '^[A-Za-z0-9_:.-]+$' or length(new.owner_id) > 64
     or new.purpose !~ '^[a-z][a-z0-9-]*$' or length(new.purpose) > 64
     or new.normal_side not in ('debit', 'credit') then
    perform ledger_fail('account-invalid', 'account id, asset, owner, purpose or normal side is malformed');
  end if;
  if new.debits_must_not_exceed_credits and new.credits_must_not_exceed_debits then
    perform ledger_fail('account-invalid', 'the two balance limits exclude each other');
  end if;
  if new.hot and (new.debits_must_not_exceed_credits or new.credits_must_not_exceed_debits) then
    perform ledger_fail('account-invalid', 'a hot account cannot have a balance limit: its balance is folded later');
  end if;
  if new.debits_pending <> 0 or new.debits_posted <> 0 or new.credits_pending <> 0 or new.credits_posted <> 0 then
    perform ledger_fail('account-invalid', 'an account is born empty; money arrives by transfer');
  end if;
  return new;
end $$;
create trigger ledger_accounts_check before insert on ledger_accounts for each row
  execute function ledger_accounts_check();

-- Counters move only inside a trigger (the transfer trigger, or the fold of hot deltas) and identity never
-- changes, so no statement may update an account directly. An AFTER trigger, because a BEFORE UPDATE row
-- trigger makes PostgreSQL lock (and WAL-log the lock of) every row before updating it; its WHEN clause is
-- evaluated as the row is updated and stays tiny, as it is rebuilt for every statement.
create trigger ledger_accounts_guard after update on ledger_accounts for each row
  when (pg_trigger_depth() = 0) execute function ledger_refuse_write();
create trigger ledger_accounts_no_delete before delete on ledger_accounts for each row
  execute function ledger_refuse_write();
create trigger ledger_accounts_no_truncate before truncate on ledger_accounts for each statement
  execute function ledger_refuse_write();

create table ledger_transfers (
  -- Posting order, numbered at insert: a transfer may commit after one with a higher seq, so an as-of read
  -- by seq is settled once the postings in flight at that point have finished. Statements page by seq.
  seq bigint generated always as identity,
  -- The client's id is the idempotency key (at most 100 characters; 108 leaves room for 'expire:').
  id text collate "C" primary key,
  kind text not null,
  debit_account_id text collate "C" not null,
  credit_account_id text collate "C" not null,
  asset_id text collate "C" not null,
  amount numeric(78, 0) not null,
  pending_id text collate "C",
  timeout_ms bigint,
  timeout_at timestamptz,
  code text collate "C" not null,
  metadata jsonb not null default '{}'::jsonb,
  -- sha256 of the canonical request (ledger.state.ts requestHash): same id and same hash = a replay.
  request_hash bytea not null,
  created_at timestamptz not null default clock_timestamp(),
  -- The money-critical rules stay declarative; shapes and formats are checked by ledger_transfers_check,
  -- with coded errors.
  constraint ledger_transfers_amount_and_sides check (ledger_transfer_valid(amount, debit_account_id, credit_account_id))
);
-- At most one post, void or expiry per pending transfer, whatever path wrote it.
create unique index ledger_transfers_pending_resolution_key on ledger_transfers (pending_id)
  where pending_id is not null;
create index ledger_transfers_debit_idx on ledger_transfers (debit_account_id, seq);
create index ledger_transfers_credit_idx on ledger_transfers (credit_account_id, seq);

create trigger ledger_transfers_immutable before update or delete on ledger_transfers for each row
  execute function refuse_change();
create trigger ledger_transfers_no_truncate before truncate on ledger_transfers for each statement
  execute function refuse_change();

-- Pending transfers not yet posted, voided or expired. Not a ledger fact (those are immutable) but an
-- index: it bounds the expiry scan, and it is the row a post, void or expiry locks to be the only resolver.
create table ledger_pending_open (
  pending_id text collate "C" primary key,
  timeout_at timestamptz not null
);
create index ledger_pending_open_timeout_idx on ledger_pending_open (timeout_at, pending_id);
create trigger ledger_pending_open_guard after insert or update or delete on ledger_pending_open for each row
  when (pg_trigger_depth() = 0) execute function ledger_refuse_write();
create trigger ledger_pending_open_no_truncate before truncate on ledger_pending_open for each statement
  execute function ledger_refuse_write();

-- Balance changes of hot accounts not yet folded into the account row: live balance = counters + the sum
-- here. Rows appear only from the transfer trigger, and deleting rows folds them into their accounts (the
-- statement trigger below), so no write to this table creates or destroys money.
create table ledger_hot_deltas (
  id bigint generated always as identity primary key,
  account_id text collate "C" not null,
  debits_pending numeric(78, 0) not null,
  debits_posted numeric(78, 0) not null,
  credits_pending numeric(78, 0) not null,
  credits_posted numeric(78, 0) not null
);
create index ledger_hot_deltas_account_idx on ledger_hot_deltas (account_id);
create trigger ledger_hot_deltas_insert_guard before insert on ledger_hot_deltas for each row
  when (pg_trigger_depth() = 0) execute function ledger_refuse_write();
create trigger ledger_hot_deltas_no_update before update on ledger_hot_deltas for each row
  execute function ledger_refuse_write();
create trigger ledger_hot_deltas_no_truncate before truncate on ledger_hot_deltas for each statement
  execute function ledger_refuse_write();

create function ledger_hot_deltas_fold() returns trigger language plpgsql as $$
begin
  update ledger_accounts a
     set debits_pending = a.debits_pending + s.debits_pending,
         debits_posted = a.debits_posted + s.debits_posted,
         credits_pending = a.credits_pending + s.credits_pending,
         credits_posted = a.credits_posted + s.credits_posted
    from (select r.account_id, sum(r.debits_pending) as debits_pending, sum(r.debits_posted) as debits_posted,
                 sum(r.credits_pending) as credits_pending, sum(r.credits_posted) as credits_posted
            from removed r group by r.account_id) s
   where a.id = s.account_id;
  return null;
end $$;
create trigger ledger_hot_deltas_fold after delete on ledger_hot_deltas referencing old table as removed
  for each statement execute function ledger_hot_deltas_fold();

-- What a post, void or expiry inherits from its pending transfer, and whether it may resolve it. Returns
-- null for a replay (this very transfer already resolved it), which makes the insert skip the row.
create function ledger_transfers_resolve(t ledger_transfers) returns ledger_transfers language plpgsql as $$
declare
  v_pending ledger_transfers%rowtype;
  v_resolution ledger_transfers%rowtype;
begin
  select * into v_pending from ledger_transfers p where p.id = t.pending_id;
  if not found or v_pending.kind <> 'pending' then
    perform ledger_fail('pending-transfer-not-found', 'no pending transfer ' || t.pending_id);
  end if;
  select * into v_resolution from ledger_transfers r where r.pending_id = t.pending_id;
  if found and v_resolution.id = t.id then return null; end if;
  if found then
    perform ledger_fail(case v_resolution.kind when 'post' then 'pending-transfer-already-posted'
      when 'void' then 'pending-transfer-already-voided' else 'pending-transfer-expired' end, t.pending_id);
  end if;
  if t.kind = 'expire' and v_pending.timeout_at > t.created_at then
    perform ledger_fail('transfer-invalid', 'pending transfer ' || t.pending_id || ' has not timed out');
  elsif t.kind <> 'expire' and v_pending.timeout_at <= t.created_at then
    perform ledger_fail('pending-transfer-expired', t.pending_id || ' timed out at ' || v_pending.timeout_at);
  end if;
  if t.debit_account_id <> v_pending.debit_account_id or t.credit_account_id <> v_pending.credit_account_id
     or t.asset_id <> v_pending.asset_id then
    perform ledger_fail('transfer-invalid', 'accounts and asset must be those of the pending transfer');
  end if;
  if t.kind = 'post' and t.amount > v_pending.amount then
    perform ledger_fail('post-amount-exceeds-pending', format('%s > %s', t.amount, v_pending.amount));
  elsif t.kind <> 'post' and t.amount <> v_pending.amount then
    perform ledger_fail('transfer-invalid', 'a void or expiry releases the whole pending amount');
  end if;
  t.debit_account_id := v_pending.debit_account_id;
  t.credit_account_id := v_pending.credit_account_id;
  t.asset_id := v_pending.asset_id;
  t.code := coalesce(t.code, v_pending.code);
  t.amount := coalesce(t.amount, v_pending.amount);
  return t;
end $$;

-- Validates a transfer, whatever wrote it, and fills its derived columns. Reads only: balances change in
-- the AFTER trigger, which does not run for a row that is skipped (a replay, or a concurrent duplicate
-- under ON CONFLICT). One function, without helper calls, because it runs for every posting.
create function ledger_transfers_check() returns trigger language plpgsql as $$
declare
  v_metadata_error text;
begin
  -- The database clock, not the caller's: expiry is judged against it.
  new.created_at := clock_timestamp();
  if new.id !~ '^[A-Za-z0-9][A-Za-z0-9_:.@-]*$' or length(new.id) > 108
     or (new.code !~ '^[a-z][a-z0-9-]*$' or length(new.code) > 64) is true
     or new.kind is null or new.kind not in ('single', 'pending', 'post', 'void', 'expire')
     or octet_length(new.request_hash) is distinct from 32
     or (new.kind in ('single', 'pending')) <> (new.pending_id is null)
     or (new.kind = 'pending') <> (new.timeout_ms is not null)
     -- Expiry ids derive from the pending id, so a client can never take one and block an expiry.
     or (new.kind = 'expire') <> (new.id like 'expire:%') or (new.kind = 'expire' and new.id <> 'expire:' || new.pending_id) then
    perform ledger_fail('transfer-invalid', 'transfer id, kind, code, pending id or request hash is malformed');
  end if;
  if new.timeout_ms not between 1 and 2592000000 then
    perform ledger_fail('pending-timeout-invalid', 'a pending transfer needs a timeout of 1..2592000000 ms');
  end if;
  if new.metadata <> '{}'::jsonb then
    v_metadata_error := ledger_metadata_error(new.metadata);
    if v_metadata_error is not null then
      perform ledger_fail(v_metadata_error, 'metadata: an object of at most 32 string values, 4096 bytes in all');
    end if;
  end if;
  -- Null is a post of the whole pending amount, filled in by ledger_transfers_resolve.
  if new.amount <= 0 or new.amount > 115792089237316195423570985008687907853269984665640564039457584007913129639935 then
    perform ledger_fail('transfer-amount-invalid', 'amount must be in 1..2^256-1');
  end if;
  if new.kind not in ('single', 'pending') then
    return ledger_transfers_resolve(new);
  end if;
  if new.debit_account_id = new.credit_account_id then
    perform ledger_fail('same-account', 'debit and credit account are both ' || new.debit_account_id);
  end if;
  -- The accounts' existence and asset are checked where they are written (ledger_transfers_apply), which
  -- saves two reads on every posting.
  if new.kind = 'pending' then
    new.timeout_at := new.created_at + new.timeout_ms * interval '1 millisecond';
  end if;
  return new;
end $$;
create trigger ledger_transfers_check before insert on ledger_transfers for each row
  execute function ledger_transfers_check();

-- Why a transfer could not be applied to its accounts, as the error the caller gets.
create function ledger_explain_refusal(t ledger_transfers) returns void language plpgsql as $$
declare
  v_debit_asset text;
  v_credit_asset text;
begin
  select a.asset_id into v_debit_asset from ledger_accounts a where a.id = t.debit_account_id;
  if not found then perform ledger_fail('account-not-found', 'debit account ' || t.debit_account_id); end if;
  select a.asset_id into v_credit_asset from ledger_accounts a where a.id = t.credit_account_id;
  if not found then perform ledger_fail('account-not-found', 'credit account ' || t.credit_account_id); end if;
  if v_debit_asset <> t.asset_id or v_credit_asset <> t.asset_id then
    perform ledger_fail('asset-mismatch',
      format('transfer is %s; debit account holds %s, credit account %s', t.asset_id, v_debit_asset, v_credit_asset));
  end if;
  perform ledger_fail('insufficient-funds',
    format('transfer %s would take account %s or %s past its balance limit', t.id, t.debit_account_id, t.credit_account_id));
end $$;

-- Applies both legs, the account with the lower id first: every writer takes account row locks in id
-- order (after any open-pending rows), so concurrent postings never deadlock. A sync account is updated
-- with the asset and its balance limit in the WHERE (the CHECK on ledger_accounts stays as the backstop);
-- a hot account gets a delta row instead, and no lock. A leg that applies to neither is refused with a
-- coded error: a missing account, another asset, or a limit.
create function ledger_transfers_apply() returns trigger language plpgsql as $$
declare
  v_pending numeric := 0;
  v_posted numeric := 0;
  v_is_debit boolean;
  v_account text;
begin
  if new.kind = 'single' then
    v_posted := new.amount;
  elsif new.kind = 'pending' then
    v_pending := new.amount;
    insert into ledger_pending_open (pending_id, timeout_at) values (new.id, new.timeout_at);
  else
    -- Post, void and expiry release the whole reservation; a post then moves its amount to posted.
    select -p.amount into v_pending from ledger_transfers p where p.id = new.pending_id;
    if new.kind = 'post' then v_posted := new.amount; end if;
    delete from ledger_pending_open o where o.pending_id = new.pending_id;
  end if;
  for v_leg in 1..2 loop
    v_is_debit := (v_leg = 1) = (new.debit_account_id < new.credit_account_id);
    v_account := case when v_is_debit then new.debit_account_id else new.credit_account_id end;
    if v_is_debit then
      update ledger_accounts a set debits_pending = a.debits_pending + v_pending, debits_posted = a.debits_posted + v_posted
       where a.id = v_account and not a.hot and a.asset_id = new.asset_id
         and (not a.debits_must_not_exceed_credits
              or a.debits_pending + v_pending + a.debits_posted + v_posted <= a.credits_posted);
    else
      update ledger_accounts a set credits_pending = a.credits_pending + v_pending, credits_posted = a.credits_posted + v_posted
       where a.id = v_account and not a.hot and a.asset_id = new.asset_id
         and (not a.credits_must_not_exceed_debits
              or a.credits_pending + v_pending + a.credits_posted + v_posted <= a.debits_posted);
    end if;
    if not found then
      insert into ledger_hot_deltas (account_id, debits_pending, debits_posted, credits_pending, credits_posted)
      select a.id, case when v_is_debit then v_pending else 0 end, case when v_is_debit then v_posted else 0 end,
             case when v_is_debit then 0 else v_pending end, case when v_is_debit then 0 else v_posted end
        from ledger_accounts a where a.id = v_account and a.hot and a.asset_id = new.asset_id;
      if not found then perform ledger_explain_refusal(new); end if;
    end if;
  end loop;
  return null;
end $$;
create trigger ledger_transfers_apply after insert on ledger_transfers for each row
  execute function ledger_transfers_apply();

/*
 * The posting path for one transfer: one call, one round trip. Returns the transfer, flagged `replayed`
 * when the same id and body were already written. Raises SL001 errors (ledger.errors.ts); when it
 * raises, it has written nothing.
 */
create function ledger_post_transfer(
  p_id text, p_kind text, p_debit_account_id text, p_credit_account_id text, p_asset_id text, p_amount text,
  p_pending_id text, p_timeout_ms bigint, p_code text, p_metadata jsonb, p_request_hash text
) returns table (
  seq bigint, id text, kind text, debit_account_id text, credit_account_id text, asset_id text, amount numeric,
  pending_id text, timeout_at timestamptz, code text, metadata jsonb, created_at timestamptz, replayed boolean
) language plpgsql as $$
#variable_conflict use_column
declare
  v_row ledger_transfers%rowtype;
begin
  -- Checked here because they come before the casts and the locks; the trigger checks the rest.
  if p_id is null or p_kind is null or p_kind not in ('single', 'pending', 'post', 'void')
     or p_request_hash is null or p_request_hash !~ '^[0-9a-f]+$' or length(p_request_hash) <> 64 then
    perform ledger_fail('transfer-invalid', 'a transfer needs an id, a kind and a request hash');
  end if;
  -- Exact integers only: the numeric(78,0) column would silently round "1.5".
  if (p_amount is null and p_kind in ('single', 'pending')) or p_amount !~ '^[0-9]+$' or length(p_amount) > 78 then
    perform ledger_fail('transfer-amount-invalid', 'amount must be an integer in 1..2^256-1');
  end if;
  -- A post or void first locks the pending transfer's open row, so that it is the only resolver. A pending
  -- transfer that is not visible yet is not found, even if it commits a moment later: its open row could
  -- not be locked.
  if p_pending_id is not null then
    perform 1 from ledger_transfers p where p.id = p_pending_id and p.kind = 'pending';
    if not found then perform ledger_fail('pending-transfer-not-found', 'no pending transfer ' || p_pending_id); end if;
    perform 1 from ledger_pending_open o where o.pending_id = p_pending_id for update;
  end if;
  insert into ledger_transfers as t (id, kind, debit_account_id, credit_account_id, asset_id, amount, pending_id,
                                     timeout_ms, code, metadata, request_hash)
  values (p_id, p_kind, p_debit_account_id, p_credit_account_id, p_asset_id, p_amount::numeric, p_pending_id,
          p_timeout_ms, p_code, coalesce(p_metadata, '{}'::jsonb), decode(p_request_hash, 'hex'))
  on conflict (id) do nothing
  returning t.* into v_row;
  -- Not inserted: the id exists (a replay, or a duplicate that committed while we waited for its locks).
  replayed := not found;
  if replayed then
    select * into v_row from ledger_transfers t where t.id = p_id;
    if not found then raise exception 'ledger: transfer % was neither inserted nor found', p_id; end if;
    if v_row.request_hash <> decode(p_request_hash, 'hex') then
      perform ledger_fail('idempotency-key-reused', 'transfer ' || p_id || ' was written with a different request');
    end if;
  end if;
  seq := v_row.seq; id := v_row.id; kind := v_row.kind; debit_account_id := v_row.debit_account_id;
  credit_account_id := v_row.credit_account_id; asset_id := v_row.asset_id; amount := v_row.amount;
  pending_id := v_row.pending_id; timeout_at := v_row.timeout_at; code := v_row.code; metadata := v_row.metadata;
  created_at := v_row.created_at;
  return next;
end $$;

-- The wire shape of one transfer in a batch (amount as text: JSON numbers cannot carry uint256 exactly).
create type ledger_transfer_input as (
  id text, kind text, debit_account_id text, credit_account_id text, asset_id text, amount text,
  pending_id text, timeout_ms bigint, code text, metadata jsonb, request_hash text
);

create function ledger_parse_batch(p_batch jsonb) returns ledger_transfer_input[] language plpgsql as $$
declare
  v_items ledger_transfer_input[];
begin
  if jsonb_typeof(p_batch) is distinct from 'array' or jsonb_array_length(p_batch) = 0 then
    perform ledger_fail('transfer-invalid', 'a batch is a non-empty JSON array of transfers');
  end if;
  if jsonb_array_length(p_batch) > 128 then
    perform ledger_fail('linked-batch-too-large', jsonb_array_length(p_batch) || ' transfers > 128');
  end if;
  select array_agg(x order by e.ord) into v_items
    from jsonb_array_elements(p_batch) with ordinality e(item, ord),
         lateral jsonb_populate_record(null::ledger_transfer_input, e.item) x;
  if (select count(distinct i.id) from unnest(v_items) i) <> cardinality(v_items) then
    perform ledger_fail('transfer-invalid', 'the transfers of a batch need distinct ids');
  end if;
  return v_items;
end $$;

/*
 * A linked batch: all of it or none of it, in one round trip. Everything the batch writes is locked
 * first, in the global order, so the locks ledger_post_transfer takes per transfer are already held.
 */
create function ledger_post_transfers(p_batch jsonb)
returns table (
  seq bigint, id text, kind text, debit_account_id text, credit_account_id text, asset_id text, amount numeric,
  pending_id text, timeout_at timestamptz, code text, metadata jsonb, created_at timestamptz, replayed boolean
) language plpgsql as $$
#variable_conflict use_column
declare
  v_items ledger_transfer_input[] := ledger_parse_batch(p_batch);
  v_item ledger_transfer_input;
  v_pending_ids text[];
  v_replays integer := 0;
begin
  v_pending_ids := array(select distinct i.pending_id from unnest(v_items) i where i.pending_id is not null);
  -- Pending transfers must exist before the locks are taken (or be created earlier in this batch), for the
  -- reason given in ledger_post_transfer.
  if exists (select 1 from unnest(v_pending_ids) x(pending_id)
              where not exists (select 1 from ledger_transfers p where p.id = x.pending_id)
                and not exists (select 1 from unnest(v_items) i where i.id = x.pending_id and i.kind = 'pending')) then
    perform ledger_fail('pending-transfer-not-found', 'a pending transfer of this batch does not exist');
  end if;
  -- The global lock order: open pending rows by id, then sync accounts by id. Each transfer of the batch
  -- then finds its locks already held.
  perform 1 from ledger_pending_open o where o.pending_id = any(v_pending_ids) order by o.pending_id for update;
  perform 1 from ledger_accounts a
   where a.id in (select i.debit_account_id from unnest(v_items) i
                  union select i.credit_account_id from unnest(v_items) i
                  union select p.debit_account_id from ledger_transfers p where p.id = any(v_pending_ids)
                  union select p.credit_account_id from ledger_transfers p where p.id = any(v_pending_ids))
     and not a.hot
   order by a.id for no key update of a;
  foreach v_item in array v_items loop
    for seq, id, kind, debit_account_id, credit_account_id, asset_id, amount, pending_id, timeout_at, code, metadata,
        created_at, replayed in
      select * from ledger_post_transfer(v_item.id, v_item.kind, v_item.debit_account_id, v_item.credit_account_id,
        v_item.asset_id, v_item.amount, v_item.pending_id, v_item.timeout_ms, v_item.code, v_item.metadata,
        v_item.request_hash)
    loop
      if replayed then v_replays := v_replays + 1; end if;
      return next;
    end loop;
  end loop;
  -- A batch is replayed whole or not at all; a mix means its ids were used by another request.
  if v_replays not in (0, cardinality(v_items)) then
    perform ledger_fail('idempotency-key-reused', 'some transfers of this batch were written by another request');
  end if;
end $$;

/*
 * Expires up to p_limit pending transfers whose timeout has passed by both p_now and the database clock,
 * each as an 'expire' transfer that releases the reservation. Returns how many it expired.
 */
create function ledger_expire_pending(p_now timestamptz, p_limit integer) returns integer language plpgsql as $$
declare
  v_candidates text[];
  v_open text[];
begin
  v_candidates := array(select o.pending_id from ledger_pending_open o
                         where o.timeout_at <= least(p_now, clock_timestamp())
                         order by o.timeout_at, o.pending_id limit least(p_limit, 500));
  if cardinality(v_candidates) = 0 then return 0; end if;
  -- The global lock order: open pending rows, then sync accounts, each by id. A post or void that won the
  -- race deleted its open row: after the lock wait it is simply not returned.
  v_open := array(select o.pending_id from ledger_pending_open o where o.pending_id = any(v_candidates)
                   order by o.pending_id for update);
  perform 1 from ledger_accounts a
   where a.id in (select p.debit_account_id from ledger_transfers p where p.id = any(v_open)
                  union select p.credit_account_id from ledger_transfers p where p.id = any(v_open))
     and not a.hot
   order by a.id for no key update of a;
  insert into ledger_transfers (id, kind, debit_account_id, credit_account_id, asset_id, amount, pending_id,
                                code, request_hash)
  select 'expire:' || p.id, 'expire', p.debit_account_id, p.credit_account_id, p.asset_id, p.amount, p.id, p.code,
         sha256(convert_to('expire:' || p.id, 'UTF8'))
    from ledger_transfers p where p.id = any(v_open) order by p.id;
  return cardinality(v_open);
end $$;

/*
 * Folds up to p_limit hot deltas into their accounts (the statement trigger above does the arithmetic).
 * One folder at a time, oldest first, so a release is never folded before its reservation and the
 * counters never dip below zero.
 */
create function ledger_fold_hot_deltas(p_limit integer) returns integer language plpgsql as $$
declare
  v_count integer;
begin
  if not pg_try_advisory_xact_lock(7411220002) then return 0; end if;
  delete from ledger_hot_deltas d
   where d.id in (select h.id from ledger_hot_deltas h order by h.id limit least(p_limit, 10000));
  get diagnostics v_count = row_count;
  return v_count;
end $$;
