import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import type {
  Account,
  Balances,
  Metadata,
  NormalSide,
  OwnerType,
  Transfer,
  TransferKind,
  TransferResult,
} from './ledger.types.ts'

/**
 * The ledger's SQL, and nothing else: row shapes in, typed rows out. NUMERIC and INT8 arrive as text
 * (db/pool.ts) and become bigint here. Every list query is bounded by LIMIT. Hot-path statements are
 * named, so each connection parses and plans them once.
 */

type AccountRow = {
  id: string
  asset_id: string
  owner_type: OwnerType
  owner_id: string
  purpose: string
  normal_side: NormalSide
  debits_must_not_exceed_credits: boolean
  credits_must_not_exceed_debits: boolean
  hot: boolean
  created_at: Date
}

type BalanceColumns = {
  debits_pending: string
  debits_posted: string
  credits_pending: string
  credits_posted: string
}

type TransferRow = {
  seq: string
  id: string
  kind: TransferKind
  debit_account_id: string
  credit_account_id: string
  asset_id: string
  amount: string
  pending_id: string | null
  timeout_at: Date | null
  code: string
  metadata: Metadata
  created_at: Date
}

const accountColumns = `a.id, a.asset_id, a.owner_type, a.owner_id, a.purpose, a.normal_side,
  a.debits_must_not_exceed_credits, a.credits_must_not_exceed_debits, a.hot, a.created_at`

// Live counters: the row plus the hot deltas not folded yet, read in one statement (one snapshot).
const liveBalanceColumns = `a.debits_pending + coalesce(d.debits_pending, 0) as debits_pending,
  a.debits_posted + coalesce(d.debits_posted, 0) as debits_posted,
  a.credits_pending + coalesce(d.credits_pending, 0) as credits_pending,
  a.credits_posted + coalesce(d.credits_posted, 0) as credits_posted`

const deferredJoin = `left join lateral (
    select sum(h.debits_pending) as debits_pending, sum(h.debits_posted) as debits_posted,
           sum(h.credits_pending) as credits_pending, sum(h.credits_posted) as credits_posted
      from ledger_hot_deltas h where h.account_id = a.id) d on true`

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    assetId: row.asset_id,
    ownerType: row.owner_type,
    ownerId: row.owner_id,
    purpose: row.purpose,
    normalSide: row.normal_side,
    flags: {
      debitsMustNotExceedCredits: row.debits_must_not_exceed_credits,
      creditsMustNotExceedDebits: row.credits_must_not_exceed_debits,
    },
    hot: row.hot,
    createdAt: row.created_at,
  }
}

function toBalances(row: BalanceColumns): Balances {
  return {
    debitsPending: BigInt(row.debits_pending),
    debitsPosted: BigInt(row.debits_posted),
    creditsPending: BigInt(row.credits_pending),
    creditsPosted: BigInt(row.credits_posted),
  }
}

export function toTransfer(row: TransferRow): Transfer {
  return {
    seq: BigInt(row.seq),
    id: row.id,
    kind: row.kind,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    assetId: row.asset_id,
    amount: BigInt(row.amount),
    pendingId: row.pending_id,
    timeoutAt: row.timeout_at,
    code: row.code,
    metadata: row.metadata,
    createdAt: row.created_at,
  }
}

export type AccountInsert = Readonly<{
  id: string
  assetId: string
  ownerType: OwnerType
  ownerId: string
  purpose: string
  normalSide: NormalSide
  debitsMustNotExceedCredits: boolean
  creditsMustNotExceedDebits: boolean
  hot: boolean
}>

/**
 * Inserts the account unless its (owner, purpose, asset) exists, and returns whichever row is there.
 * Undefined when a concurrent insert committed after this statement's snapshot: read again.
 */
export async function insertAccountIfAbsent(
  db: Queryable,
  account: AccountInsert,
): Promise<Account | undefined> {
  const result = await db.query<AccountRow>({
    name: 'ledger-insert-account',
    text: `with inserted as (
        insert into ledger_accounts as a (id, asset_id, owner_type, owner_id, purpose, normal_side,
          debits_must_not_exceed_credits, credits_must_not_exceed_debits, hot)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        on conflict on constraint ledger_accounts_owner_purpose_asset_key do nothing
        returning ${accountColumns})
      select * from inserted
      union all
      select ${accountColumns} from ledger_accounts a
       where a.owner_type = $3 and a.owner_id = $4 and a.purpose = $5 and a.asset_id = $2
      limit 1`,
    values: [
      account.id,
      account.assetId,
      account.ownerType,
      account.ownerId,
      account.purpose,
      account.normalSide,
      account.debitsMustNotExceedCredits,
      account.creditsMustNotExceedDebits,
      account.hot,
    ],
  })
  const row = result.rows[0]
  return row === undefined ? undefined : toAccount(row)
}

/**
 * Many insertAccountIfAbsent in one statement: inserts the accounts whose (owner, purpose, asset) is new
 * and returns every row now visible for those keys — in no particular order, and without the keys whose
 * row a concurrent insert committed after this statement's snapshot (the caller reads those again).
 */
export async function insertAccountsIfAbsent(
  db: Queryable,
  accounts: readonly AccountInsert[],
): Promise<Account[]> {
  if (accounts.length === 0) return []
  const rows = accounts.map((account) => ({
    id: account.id,
    asset_id: account.assetId,
    owner_type: account.ownerType,
    owner_id: account.ownerId,
    purpose: account.purpose,
    normal_side: account.normalSide,
    debits_must_not_exceed_credits: account.debitsMustNotExceedCredits,
    credits_must_not_exceed_debits: account.creditsMustNotExceedDebits,
    hot: account.hot,
  }))
  const result = await db.query<AccountRow>(
    `with wanted as (
       select * from json_to_recordset($1::json) as w(id text, asset_id text, owner_type text, owner_id text,
         purpose text, normal_side text, debits_must_not_exceed_credits boolean,
         credits_must_not_exceed_debits boolean, hot boolean)
     ), inserted as (
       insert into ledger_accounts as a (id, asset_id, owner_type, owner_id, purpose, normal_side,
         debits_must_not_exceed_credits, credits_must_not_exceed_debits, hot)
       select id, asset_id, owner_type, owner_id, purpose, normal_side, debits_must_not_exceed_credits,
         credits_must_not_exceed_debits, hot from wanted
       -- One order for every caller: two calls inserting the same new keys wait on each other, never in a cycle.
       order by owner_type, owner_id, purpose, asset_id
       on conflict on constraint ledger_accounts_owner_purpose_asset_key do nothing
       returning ${accountColumns})
     select * from inserted
     union all
     select ${accountColumns} from ledger_accounts a join wanted w
       on a.owner_type = w.owner_type and a.owner_id = w.owner_id and a.purpose = w.purpose
      and a.asset_id = w.asset_id`,
    [JSON.stringify(rows)],
  )
  return result.rows.map(toAccount)
}

export async function selectAccountByOwner(
  db: Queryable,
  key: Readonly<{ ownerType: OwnerType; ownerId: string; purpose: string; assetId: string }>,
): Promise<Account | undefined> {
  const result = await db.query<AccountRow>({
    name: 'ledger-select-account-by-owner',
    text: `select ${accountColumns} from ledger_accounts a
            where a.owner_type = $1 and a.owner_id = $2 and a.purpose = $3 and a.asset_id = $4 limit 1`,
    values: [key.ownerType, key.ownerId, key.purpose, key.assetId],
  })
  const row = result.rows[0]
  return row === undefined ? undefined : toAccount(row)
}

export type AccountWithBalances = Readonly<{ account: Account; balances: Balances }>

export async function selectAccountBalance(
  db: Queryable,
  accountId: string,
): Promise<AccountWithBalances | undefined> {
  const result = await db.query<AccountRow & BalanceColumns>({
    name: 'ledger-select-account-balance',
    text: `select ${accountColumns}, ${liveBalanceColumns} from ledger_accounts a ${deferredJoin} where a.id = $1 limit 1`,
    values: [accountId],
  })
  const row = result.rows[0]
  return row === undefined ? undefined : { account: toAccount(row), balances: toBalances(row) }
}

export async function selectOwnerBalances(
  db: Queryable,
  ownerType: OwnerType,
  ownerId: string,
  limit: number,
): Promise<AccountWithBalances[]> {
  const result = await db.query<AccountRow & BalanceColumns>({
    name: 'ledger-select-owner-balances',
    text: `select ${accountColumns}, ${liveBalanceColumns} from ledger_accounts a ${deferredJoin}
            where a.owner_type = $1 and a.owner_id = $2 order by a.asset_id, a.purpose, a.id limit $3`,
    values: [ownerType, ownerId, limit],
  })
  return result.rows.map((row) => ({ account: toAccount(row), balances: toBalances(row) }))
}

/** One transfer as ledger_post_transfer takes it (amount as decimal text, hash as hex). */
export type TransferInput = Readonly<{
  id: string
  kind: 'single' | 'pending' | 'post' | 'void'
  debit_account_id: string | null
  credit_account_id: string | null
  asset_id: string | null
  amount: string | null
  pending_id: string | null
  timeout_ms: number | null
  code: string | null
  metadata: Metadata
  request_hash: string
}>

type PostedRow = TransferRow & { replayed: boolean }

const postedColumns = `seq, id, kind, debit_account_id, credit_account_id, asset_id, amount, pending_id, timeout_at,
  code, metadata, created_at, replayed`

function toResult(row: PostedRow): TransferResult {
  return { transfer: toTransfer(row), replayed: row.replayed }
}

function postTransferValues(input: TransferInput): unknown[] {
  return [
    input.id,
    input.kind,
    input.debit_account_id,
    input.credit_account_id,
    input.asset_id,
    input.amount,
    input.pending_id,
    input.timeout_ms,
    input.code,
    JSON.stringify(input.metadata),
    input.request_hash,
  ]
}

type StampRow = { seq: string; timeout_at: Date | null; created_at: Date; replayed: boolean }

function required(value: string | null, name: string): string {
  assert(value !== null, `a single or pending transfer has its ${name}`)
  return value
}

/** A single or pending transfer as written: the request's own fields and the database's stamps. */
function stampedTransfer(input: TransferInput, row: StampRow): TransferResult {
  const transfer: Transfer = {
    seq: BigInt(row.seq),
    id: input.id,
    kind: input.kind,
    debitAccountId: required(input.debit_account_id, 'debit account'),
    creditAccountId: required(input.credit_account_id, 'credit account'),
    assetId: required(input.asset_id, 'asset'),
    amount: BigInt(required(input.amount, 'amount')),
    pendingId: null,
    timeoutAt: row.timeout_at,
    code: required(input.code, 'code'),
    metadata: input.metadata,
    createdAt: row.created_at,
  }
  return { transfer, replayed: row.replayed }
}

/**
 * One transfer, one round trip: validation, locks, insert and balance updates happen in PostgreSQL. A
 * single or pending transfer reads back only what the database stamps on it (seq, times, replayed): the
 * rest is the request, and a replay matched the request's hash, so its stored body is the request's too.
 * Parsing a 13-column row per posting was a measurable share of a client's CPU (bench/ledger.ts). A post
 * or void inherits accounts, asset and amount from its pending transfer, so it reads the whole row.
 */
export async function callPostTransfer(db: Queryable, input: TransferInput): Promise<TransferResult[]> {
  if (input.kind === 'post' || input.kind === 'void') {
    const result = await db.query<PostedRow>({
      name: 'ledger-post-transfer',
      text: `select ${postedColumns} from ledger_post_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      values: postTransferValues(input),
    })
    return result.rows.map(toResult)
  }
  const result = await db.query<StampRow>({
    name: 'ledger-post-transfer-stamps',
    text: 'select seq, timeout_at, created_at, replayed from ledger_post_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
    values: postTransferValues(input),
  })
  return result.rows.map((row) => stampedTransfer(input, row))
}

/** A linked batch, one round trip: all of it is written or none of it. */
export async function callPostTransfers(
  db: Queryable,
  inputs: readonly TransferInput[],
): Promise<TransferResult[]> {
  const result = await db.query<PostedRow>({
    name: 'ledger-post-transfers',
    text: `select ${postedColumns} from ledger_post_transfers($1::jsonb)`,
    values: [JSON.stringify(inputs)],
  })
  return result.rows.map(toResult)
}

export async function callExpirePending(db: Queryable, now: Date, limit: number): Promise<number> {
  const result = await db.query<{ expired: number }>({
    name: 'ledger-expire-pending',
    text: 'select ledger_expire_pending($1, $2) as expired',
    values: [now, limit],
  })
  return result.rows[0]?.expired ?? 0
}

export async function callFoldHotDeltas(db: Queryable, limit: number): Promise<number> {
  const result = await db.query<{ folded: number }>({
    name: 'ledger-fold-hot-deltas',
    text: 'select ledger_fold_hot_deltas($1) as folded',
    values: [limit],
  })
  return result.rows[0]?.folded ?? 0
}

export async function selectTransfer(db: Queryable, id: string): Promise<Transfer | undefined> {
  const result = await db.query<TransferRow>({
    name: 'ledger-select-transfer',
    text: `select seq, id, kind, debit_account_id, credit_account_id, asset_id, amount, pending_id, timeout_at, code,
                  metadata, created_at from ledger_transfers where id = $1 limit 1`,
    values: [id],
  })
  const row = result.rows[0]
  return row === undefined ? undefined : toTransfer(row)
}

/** Sums of one account's transfers per side and kind, with the pending amounts they release. */
export type LegSum = Readonly<{
  accountId: string
  side: NormalSide
  kind: TransferKind
  amount: bigint
  released: bigint
}>

type LegSumRow = {
  account_id: string
  side: NormalSide
  kind: TransferKind
  amount: string
  released: string
}

function toLegSum(row: LegSumRow): LegSum {
  return {
    accountId: row.account_id,
    side: row.side,
    kind: row.kind,
    amount: BigInt(row.amount),
    released: BigInt(row.released),
  }
}

// Transfers per leg for a set of accounts, filtered to a point in the past (seq and time bounds).
const legSumsQuery = `select l.account_id, l.side, l.kind, sum(l.amount) as amount, coalesce(sum(p.amount), 0) as released
  from (select t.debit_account_id as account_id, 'debit' as side, t.kind, t.amount, t.pending_id
          from ledger_transfers t where t.debit_account_id = any($1) and t.seq <= $2 and t.created_at <= $3
        union all
        select t.credit_account_id, 'credit', t.kind, t.amount, t.pending_id
          from ledger_transfers t where t.credit_account_id = any($1) and t.seq <= $2 and t.created_at <= $3) l
  left join ledger_transfers p on p.id = l.pending_id
  group by l.account_id, l.side, l.kind
  limit $4`

const seqMax = '9223372036854775807'

/**
 * Leg sums of `accountIds` up to a point: transfers with seq ≤ `seq` and created at or before `at`
 * (either bound may be open). At most 2 sides × 5 kinds rows per account.
 */
export async function selectLegSums(
  db: Queryable,
  accountIds: readonly string[],
  bound: Readonly<{ seq?: bigint; at?: Date }> = {},
): Promise<LegSum[]> {
  const result = await db.query<LegSumRow>({
    name: 'ledger-select-leg-sums',
    text: legSumsQuery,
    values: [accountIds, bound.seq?.toString() ?? seqMax, bound.at ?? 'infinity', accountIds.length * 10],
  })
  return result.rows.map(toLegSum)
}

export type StatementRow = Readonly<{ transfer: Transfer; released: bigint }>

/** The account's transfers after `afterSeq`, oldest first: one index range scan per side. */
export async function selectStatement(
  db: Queryable,
  accountId: string,
  afterSeq: bigint,
  limit: number,
): Promise<StatementRow[]> {
  const result = await db.query<TransferRow & { released: string }>({
    name: 'ledger-select-statement',
    text: `select t.seq, t.id, t.kind, t.debit_account_id, t.credit_account_id, t.asset_id, t.amount, t.pending_id,
                  t.timeout_at, t.code, t.metadata, t.created_at, coalesce(p.amount, 0) as released
             from ((select * from ledger_transfers where debit_account_id = $1 and seq > $2 order by seq limit $3)
                   union all
                   (select * from ledger_transfers where credit_account_id = $1 and seq > $2 order by seq limit $3)) t
             left join ledger_transfers p on p.id = t.pending_id
            order by t.seq limit $3`,
    values: [accountId, afterSeq.toString(), limit],
  })
  return result.rows.map((row) => ({ transfer: toTransfer(row), released: BigInt(row.released) }))
}

export type StoredAccountRow = Readonly<{ account: Account; stored: Balances }>

/** A page of accounts by id with their live counters (row plus unfolded hot deltas), for verify. */
export async function selectAccountsPage(
  db: Queryable,
  afterId: string,
  limit: number,
): Promise<StoredAccountRow[]> {
  const result = await db.query<AccountRow & BalanceColumns>({
    name: 'ledger-select-accounts-page',
    text: `select ${accountColumns}, ${liveBalanceColumns} from ledger_accounts a ${deferredJoin}
            where a.id > $1 order by a.id limit $2`,
    values: [afterId, limit],
  })
  return result.rows.map((row) => ({ account: toAccount(row), stored: toBalances(row) }))
}
