import { limits } from '../config/limits.ts'
import { assert } from '../lib/assert.ts'

/**
 * Limits of the API platform (route binding, idempotency, rate limiting), named with the unit last, each
 * with the reason for its value. General HTTP limits (body size, page size) stay in config/limits.ts.
 */
export const httpLimits = {
  /**
   * Sustained requests per second per API key. A shop backend creating invoices at checkout needs a few
   * per second; 20 leaves room for reconciliation sweeps while one runaway integration cannot starve
   * the 10 database connections for everyone else.
   */
  apiRequestsPerSecond: 20,
  /** Requests a key may send at once after being idle (bucket size): a page of parallel calls at start-up. */
  apiRequestsBurst: 40,
  /**
   * Rate-limit buckets kept in memory. A bucket is ~100 bytes; past this the least recently used is dropped
   * (it comes back full, which only an attacker holding >10,000 valid keys could exploit).
   */
  rateLimitBucketsMax: 10_000,
  /**
   * How long a stored idempotent response is replayed. Clients retry within minutes; Stripe keeps keys
   * 24 h, and a day of keys at the rate limit stays a small table.
   */
  idempotencyKeyRetentionMs: 86_400_000,
  /**
   * An unfinished claim older than this is taken to belong to a crashed process, and a retry may run
   * the request again. It must outlast any honest request: a statement is cut at dbStatementTimeoutMs and
   * an idle transaction at dbIdleInTransactionTimeoutMs, and a handler runs a few of them.
   */
  idempotencyClaimLeaseMs: 120_000,
  /** Idempotency-Key header length (a UUID is 36; room for "order:1234:refund:2"-style keys). */
  idempotencyKeyLengthMax: 255,
  /** Expired keys deleted per cleanup call: bounds the locks and WAL of one job run. */
  idempotencyCleanupBatchMax: 1_000,
  /**
   * One-statement writes of one operation running at once per process (ADR 0028), each on a
   * connection of the batches' own pool (10 + 4 connections per API process); requests arriving
   * meanwhile wait and go together in the next statement. Measured at 32 concurrent clients: 2, 3, 4
   * and 6 in flight gave batches of ~7.5, ~5.3, ~4.3 and ~3; 3-4 gave the most invoices/s (ADR 0028).
   */
  oneStatementBatchesInFlightMax: 4,
  /**
   * Requests per one-statement write (ADR 0028). Bounds the statement: each request carries its stored
   * response (~1 KB for an invoice), so 32 keep it under ~64 KB of parameters and a few ms of work.
   */
  oneStatementBatchRequestsMax: 32,
} as const

/** Relations between the limits, checked when the module loads. */
function assertHttpLimitRelations(): void {
  assert(httpLimits.apiRequestsBurst >= httpLimits.apiRequestsPerSecond, 'a burst holds at least one second')
  assert(httpLimits.apiRequestsPerSecond > 0, 'a key must be able to call the API')
  assert(httpLimits.oneStatementBatchesInFlightMax >= 1, 'one-statement writes need a connection')
  assert(
    httpLimits.idempotencyClaimLeaseMs > limits.dbIdleInTransactionTimeoutMs + limits.dbStatementTimeoutMs,
    'a claim must outlive the longest transaction the database lets a handler hold',
  )
  assert(
    httpLimits.idempotencyKeyRetentionMs > httpLimits.idempotencyClaimLeaseMs,
    'a key must outlive its claim, or a crashed request could never be retried under the same key',
  )
}
assertHttpLimitRelations()
