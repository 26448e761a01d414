import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Queryable } from '../db/pool.ts'
import { type BatchWrite, joinSqlParts, type SqlPart } from '../db/statement.ts'
import { assert } from '../lib/assert.ts'
import { AppError } from '../lib/errors.ts'
import { httpLimits } from './http.limits.ts'

/**
 * Idempotency-Key handling (docs/adr/0009-api-contract-and-idempotency.md). The first request claims the
 * key (an insert that commits before the handler runs); a repeat replays the stored result, a concurrent
 * duplicate gets 409, the same key with another request gets 422. Table: migration 0007-idempotency.sql.
 */

export const idempotencyKeyRequired = () =>
  new AppError('idempotency-key-required', 400, 'this operation moves money: send an Idempotency-Key header')
export const idempotencyKeyInvalid = () =>
  new AppError(
    'idempotency-key-invalid',
    400,
    `the Idempotency-Key must be 1-${httpLimits.idempotencyKeyLengthMax} characters of [A-Za-z0-9_-:.]`,
  )
export const idempotencyKeyInProgress = () =>
  new AppError(
    'idempotency-key-in-progress',
    409,
    'a request with this Idempotency-Key is still running; retry',
  )
export const idempotencyKeyReused = () =>
  new AppError('idempotency-key-reused', 422, 'this Idempotency-Key was used for a different request')

// Same characters as the migration's check; the length bound comes from httpLimits.
const keyPattern = /^[A-Za-z0-9_\-:.]+$/

/** Reads the header per the operation's mode; undefined when there is no key and none is needed. */
export function readIdempotencyKey(
  header: string | string[] | undefined,
  mode: 'required' | 'optional' | 'none',
): string | undefined {
  if (mode === 'none') return undefined
  if (header === undefined) {
    if (mode === 'required') throw idempotencyKeyRequired()
    return undefined
  }
  // A repeated header is ambiguous (which one would a retry send?), so it is refused rather than picked.
  if (typeof header !== 'string') throw idempotencyKeyInvalid()
  if (header.length > httpLimits.idempotencyKeyLengthMax || !keyPattern.test(header))
    throw idempotencyKeyInvalid()
  return header
}

/** JSON with object keys sorted at every depth, so key order never makes two equal bodies differ. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** What makes two requests "the same": method, path (no query string) and canonical body. */
export function hashIdempotentRequest(method: string, path: string, body: unknown): Buffer {
  const canonicalBody = body === undefined ? '' : canonicalJson(body)
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${canonicalBody}`).digest()
}

export type IdempotencyRecordKey = Readonly<{ merchantId: string; key: string }>

export type ClaimResult =
  | { kind: 'claimed'; claimToken: string }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'in-progress' }
  | { kind: 'reused' }

type StoredRow = {
  request_hash: Buffer
  response_status: number | null
  response_body: unknown
  completed_at: Date | null
  claimed_at: Date
  expires_at: Date
}

type ClaimInput = IdempotencyRecordKey & {
  operationId: string
  requestHash: Buffer
  now: Date
  leaseMs?: number
}

/**
 * Claims the key for one request in one statement of its own (committed before the handler runs, so a
 * concurrent duplicate sees it): the insert, or, when the key exists, the stored row. A duplicate
 * waits only if the original is between storing its response and committing (microseconds): the
 * claim itself is committed and unlocked while the handler runs, so the duplicate reads it and answers
 * 409 at once.
 */
export async function claimIdempotencyKey(db: Queryable, claim: ClaimInput): Promise<ClaimResult> {
  const claimToken = randomBytes(16).toString('base64url')
  const expiresAt = new Date(claim.now.getTime() + httpLimits.idempotencyKeyRetentionMs)
  const result = await db.query<StoredRow & { claimed: boolean }>({
    name: 'idempotency-claim',
    text: `with inserted as (
       insert into idempotency_keys
         (merchant_id, key, operation_id, request_hash, claim_token, claimed_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7) on conflict (merchant_id, key) do nothing
       returning true as claimed)
     select true as claimed, null::bytea as request_hash, null::int as response_status,
       null::jsonb as response_body, null::timestamptz as completed_at, null::timestamptz as claimed_at,
       null::timestamptz as expires_at
     from inserted
     union all
     ${heldRow('false', 'inserted')}`,
    values: [
      claim.merchantId,
      claim.key,
      claim.operationId,
      claim.requestHash,
      claimToken,
      claim.now,
      expiresAt,
    ],
  })
  const row = result.rows[0]
  if (row?.claimed === true) return { kind: 'claimed', claimToken }
  const found = judgeStoredClaim(row, claim)
  if (found !== 'take-over') return found
  return await takeOverClaim(
    db,
    claim,
    claimToken,
    expiresAt,
    claim.leaseMs ?? httpLimits.idempotencyClaimLeaseMs,
  )
}

/**
 * The key's stored row, when the claim CTE `inserted` inserted nothing ($1, $2: merchant and key),
 * with `first` as the leading column of the claimed row it is unioned with.
 */
function heldRow(first: string, inserted: string): string {
  return `select ${first}, request_hash, response_status, response_body, completed_at, claimed_at, expires_at
     from idempotency_keys
     where merchant_id = $1 and key = $2 and not exists (select 1 from ${inserted})`
}

/** What a key another request holds means for this one; 'take-over' when its row is expired or stale. */
function judgeStoredClaim(
  row: StoredRow | undefined,
  claim: ClaimInput,
): Exclude<ClaimResult, { kind: 'claimed' }> | 'take-over' {
  // Committed after this statement began (it waited for it), or released after a 5xx: a retry is right.
  if (row === undefined) return { kind: 'in-progress' }
  const leaseMs = claim.leaseMs ?? httpLimits.idempotencyClaimLeaseMs
  const expired = row.expires_at.getTime() <= claim.now.getTime()
  if (!expired && !row.request_hash.equals(claim.requestHash)) return { kind: 'reused' }
  if (!expired && row.completed_at !== null && row.response_status !== null)
    return { kind: 'replay', status: row.response_status, body: row.response_body }
  // An unfinished claim older than the lease belongs to a process that died: this request takes it over.
  const stale = row.completed_at === null && row.claimed_at.getTime() <= claim.now.getTime() - leaseMs
  if (!expired && !stale) return { kind: 'in-progress' }
  return 'take-over'
}

export type ClaimWithWriteResult =
  | { kind: 'written' }
  | Exclude<ClaimResult, { kind: 'claimed' }>
  /** The key's row is expired or its claim stale: the two-step path (claim, then run) takes it over. */
  | { kind: 'take-over' }

/** One request of a batch for claimWithWrites: its claim, its stored response and its write's row. */
export type ClaimWithWriteRequest<Row> = Readonly<{
  claim: ClaimInput & { status: number; responseBody: unknown }
  row: Row
}>

/** A request's outcome in a batch: the statement ran, but one request's write may still be broken. */
export type ClaimWithWriteOutcome = { ok: true; value: ClaimWithWriteResult } | { ok: false; error: Error }

type BatchedRow = Omit<StoredRow, 'request_hash'> & {
  ordinal: number
  claimed: boolean
  written: number
  request_hash: Buffer | null
}

/**
 * For a batch of requests of one operation (ADR 0022, 0028), in one statement: claims each request's
 * key, performs the writes of the requests it claimed and stores their responses. A request whose key
 * is already held writes nothing and gets the holder's row, judged as claimIdempotencyKey judges it.
 * Any error in any part fails the whole statement: no claim, no write, for any request of the batch.
 * Keys must be distinct within a batch. Outcomes are in the order of `requests`.
 */
export async function claimWithWrites<Row>(
  db: Queryable,
  operationId: string,
  requests: readonly ClaimWithWriteRequest<Row>[],
  write: BatchWrite<Row>,
): Promise<ClaimWithWriteOutcome[]> {
  // One key twice would pass the gate twice (it matches by key) and write twice under one claim.
  assert(
    new Set(requests.map((request) => `${request.claim.merchantId}\n${request.claim.key}`)).size ===
      requests.length,
    `${operationId}: one Idempotency-Key twice in a batch`,
  )
  // Keys inserted in one order by every batch, so two batches holding the same two keys (two API
  // processes, each sent duplicates) wait on each other in one direction and never deadlock.
  const sorted = [...requests].sort((a, b) => compareKeys(a.claim, b.claim))
  const gate = 'idempotency_claimed'
  const chained = write.build(
    sorted.map((request) => request.row),
    gate,
  )
  const statement = joinedStatementOf(
    `${operationId} ${write.name}`,
    [claimsPart(gate, operationId, sorted), ...chained.ctes],
    (ctes) => `with ${ctes}
     select request.ordinal::int, request.ordinal in (select ordinal from ${gate}) as claimed,
       (select count(*) from ${chained.done} done where done.ordinal = request.ordinal)::int as written,
       held.request_hash, held.response_status, held.response_body, held.completed_at, held.claimed_at,
       held.expires_at
     from unnest($1::text[], $2::text[]) with ordinality as request (merchant_id, key, ordinal)
     -- One index lookup per request: lateral with a limit, so the planner cannot flatten it into a join.
     -- The generic plan (ADR 0028) is made once per connection; made on small tables, a join hashed all
     -- of idempotency_keys, and kept doing so as the table grew.
     left join lateral (
       select * from idempotency_keys where merchant_id = request.merchant_id and key = request.key limit 1
     ) as held on true
     order by request.ordinal`,
  )
  const result = await db.query<BatchedRow>({
    name: `idempotency-claim-with-writes:${operationId}`,
    ...statement,
  })
  const outcomes = new Map<ClaimWithWriteRequest<Row>, ClaimWithWriteOutcome>()
  for (const [index, request] of sorted.entries())
    outcomes.set(request, outcomeOf(result.rows[index], request, operationId))
  return requests.map((request) => outcomes.get(request) as ClaimWithWriteOutcome)
}

const compareKeys = (a: IdempotencyRecordKey, b: IdempotencyRecordKey) =>
  compareText(a.merchantId, b.merchantId) || compareText(a.key, b.key)

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The claims as CTEs: `idempotency_claim` inserts every key not held, stored completed with its
 * response; `gate` lists the ordinals (1-based, in `requests` order) of the keys it inserted.
 * $1, $2 (merchants, keys) are this part's own, which joinSqlParts leaves first.
 */
function claimsPart<Row>(
  gate: string,
  operationId: string,
  requests: readonly ClaimWithWriteRequest<Row>[],
): SqlPart {
  const claims = requests.map((request) => request.claim)
  return {
    text: `idempotency_claim as (
       insert into idempotency_keys (merchant_id, key, operation_id, request_hash, claim_token, claimed_at,
         expires_at, response_status, response_body, completed_at)
       select merchant_id, key, $3, request_hash, claim_token, claimed_at, expires_at, response_status,
         $9::jsonb -> (ordinal::int - 1), claimed_at
       from unnest($1::text[], $2::text[], $4::bytea[], $5::text[], $6::timestamptz[], $7::timestamptz[],
           $8::int[]) with ordinality
         as request (merchant_id, key, request_hash, claim_token, claimed_at, expires_at, response_status,
           ordinal)
       on conflict (merchant_id, key) do nothing
       returning merchant_id, key),
     ${gate} as (
       select ordinal from unnest($1::text[], $2::text[]) with ordinality as request (merchant_id, key, ordinal)
       where (merchant_id, key) in (select merchant_id, key from idempotency_claim))`,
    values: [
      claims.map((claim) => claim.merchantId),
      claims.map((claim) => claim.key),
      operationId,
      claims.map((claim) => claim.requestHash),
      // Rows are stored completed, so their tokens never authorise anything; randomUUID draws from a
      // cached CSPRNG block (randomBytes: one OpenSSL call per request, 1-2 % of the API's profile).
      claims.map(() => randomUUID()),
      claims.map((claim) => claim.now),
      claims.map((claim) => new Date(claim.now.getTime() + httpLimits.idempotencyKeyRetentionMs)),
      requests.map((request) => request.claim.status),
      // The responses as one JSON array, element i for ordinal i + 1: a jsonb[] parameter would make
      // node-postgres escape every quote of every ~1 KB response into an array literal.
      `[${requests.map((request) => JSON.stringify(request.claim.responseBody ?? null)).join(',')}]`,
    ],
  }
}

function outcomeOf<Row>(
  row: BatchedRow | undefined,
  request: ClaimWithWriteRequest<Row>,
  operationId: string,
): ClaimWithWriteOutcome {
  if (row?.claimed === true) {
    // Claimed: the gated write ran in the same statement and must have produced its row.
    if (row.written === 1) return { ok: true, value: { kind: 'written' } }
    return {
      ok: false,
      error: new Error(`${operationId}: claimed but the write produced ${row.written} rows`),
    }
  }
  const stored = row === undefined || row.request_hash === null ? undefined : (row as StoredRow)
  const found = judgeStoredClaim(stored, request.claim)
  return { ok: true, value: found === 'take-over' ? { kind: 'take-over' } : found }
}

type JoinedStatement = Readonly<{
  partTexts: readonly string[]
  valueCounts: readonly number[]
  text: string
}>

// The full text of each operation's one-statement write. Its parts' texts are the same on every request
// (only their values differ), and renumbering them (joinSqlParts' regex) cost ~15 µs per invoice (ADR
// 0022). Bounded: one entry per operation with a one-statement form (and its gate), a handful.
const joinedStatements = new Map<string, JoinedStatement>()

/**
 * The statement made of `parts` (joined by joinSqlParts, wrapped by `wrap`), its text reused while the
 * parts under `statementKey` keep the same texts and value counts; a part that changed is joined afresh.
 * `wrap` must depend on nothing but its argument and what `statementKey` names.
 */
export function joinedStatementOf(
  statementKey: string,
  parts: readonly SqlPart[],
  wrap: (ctes: string) => string,
): { text: string; values: unknown[] } {
  const cached = joinedStatements.get(statementKey)
  if (
    cached !== undefined &&
    cached.partTexts.length === parts.length &&
    parts.every(
      (part, index) =>
        part.text === cached.partTexts[index] && part.values.length === cached.valueCounts[index],
    )
  )
    return { text: cached.text, values: parts.flatMap((part) => part.values) }
  const joined = joinSqlParts(parts, ',\n')
  const text = wrap(joined.text)
  joinedStatements.set(statementKey, {
    partTexts: parts.map((part) => part.text),
    valueCounts: parts.map((part) => part.values.length),
    text,
  })
  return { text, values: joined.values }
}

/** Re-claims an expired row or a stale claim; the WHERE re-checks both, so only one taker wins. */
async function takeOverClaim(
  db: Queryable,
  claim: ClaimInput,
  claimToken: string,
  expiresAt: Date,
  leaseMs: number,
): Promise<ClaimResult> {
  const taken = await db.query(
    `update idempotency_keys set
       operation_id = $3, request_hash = $4, claim_token = $5, claimed_at = $6, expires_at = $7,
       response_status = null, response_body = null, completed_at = null
     where merchant_id = $1 and key = $2
       and (expires_at <= $6 or (completed_at is null and request_hash = $4 and claimed_at <= $8))`,
    [
      claim.merchantId,
      claim.key,
      claim.operationId,
      claim.requestHash,
      claimToken,
      claim.now,
      expiresAt,
      new Date(claim.now.getTime() - leaseMs),
    ],
  )
  return taken.rowCount === 1 ? { kind: 'claimed', claimToken } : { kind: 'in-progress' }
}

/**
 * Stores the result of a claimed request. Returns false when the claim is no longer ours (already
 * completed, or taken over after the lease): the stored result is then someone else's and stays.
 */
export async function completeIdempotencyKey(
  db: Queryable,
  completion: IdempotencyRecordKey & { claimToken: string; status: number; body: unknown; now: Date },
): Promise<boolean> {
  const result = await db.query({
    name: 'idempotency-complete',
    text: `update idempotency_keys set response_status = $4, response_body = $5::jsonb, completed_at = $6
     where merchant_id = $1 and key = $2 and claim_token = $3 and completed_at is null`,
    values: [
      completion.merchantId,
      completion.key,
      completion.claimToken,
      completion.status,
      JSON.stringify(completion.body ?? null),
      completion.now,
    ],
  })
  return result.rowCount === 1
}

/** Deletes an unfinished claim so a retry runs again (after a 5xx: nothing durable may be assumed). */
export async function releaseIdempotencyKey(
  db: Queryable,
  release: IdempotencyRecordKey & { claimToken: string },
): Promise<void> {
  await db.query(
    `delete from idempotency_keys
     where merchant_id = $1 and key = $2 and claim_token = $3 and completed_at is null`,
    [release.merchantId, release.key, release.claimToken],
  )
}

/**
 * Deletes up to `batchMax` keys that expired at `now`, oldest first; returns how many. The lead's job
 * calls it until it returns less than batchMax. SKIP LOCKED: a row being claimed again is left alone.
 */
export async function deleteExpiredIdempotencyKeys(
  db: Queryable,
  now: Date,
  batchMax: number = httpLimits.idempotencyCleanupBatchMax,
): Promise<number> {
  const result = await db.query(
    `with expired as (
       select merchant_id, key from idempotency_keys where expires_at <= $1
       order by expires_at limit $2 for update skip locked)
     delete from idempotency_keys stored using expired
     where stored.merchant_id = expired.merchant_id and stored.key = expired.key`,
    [now, Math.max(1, Math.min(batchMax, httpLimits.idempotencyCleanupBatchMax))],
  )
  return result.rowCount ?? 0
}

/**
 * Given to a handler running under an Idempotency-Key. A handler that wants exactly-once across a
 * crash calls `complete(client, body)` inside its own transaction, so its writes and the stored response
 * commit together; otherwise the route stores the response after the handler returns (at-least-once
 * if the process dies between the two).
 */
export type IdempotencyScope = Readonly<{
  key: string
  complete: (client: Queryable, responseBody: unknown) => Promise<void>
}>

/** The scope, and whether the handler stored its response itself (the route then has nothing to store). */
export function createIdempotencyScope(
  record: IdempotencyRecordKey & { claimToken: string },
  response: { status: number; stored: (body: unknown) => unknown; now: () => Date },
): { scope: IdempotencyScope; completedByHandler: () => boolean } {
  let completedByHandler = false
  const scope: IdempotencyScope = {
    key: record.key,
    complete: async (client, responseBody) => {
      const body = response.stored(responseBody)
      const completed = await completeIdempotencyKey(client, {
        ...record,
        status: response.status,
        body,
        now: response.now(),
      })
      // Lost the claim to a retry after the lease: abort this transaction, the retry owns the result.
      if (!completed) throw idempotencyKeyInProgress()
      // Stored in the handler's transaction, which commits before the handler returns.
      completedByHandler = true
    },
  }
  return { scope, completedByHandler: () => completedByHandler }
}
