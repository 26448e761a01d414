import { assert } from '../../lib/assert.ts'

/**
 * Ledger limits, named with the unit last, each with the reason for its value. The ones PostgreSQL
 * enforces too are mirrored in server/src/db/migrations/0002-ledger.sql (its header lists them), and
 * ledger.failures.int.test.ts checks both sides of each against the database.
 */
export const ledgerLimits = {
  /**
   * Transfers in one linked batch. A batch holds the row locks of all its accounts until it commits, so a
   * large one stalls every posting that shares an account; 128 covers a payout run with its fees.
   */
  linkedTransfersMax: 128,
  /** Characters of a client transfer id (the idempotency key): a prefixed ULID or `deposit:<id>:credit`. */
  transferIdLengthMax: 100,
  /** Characters of a transfer code (its reason, e.g. `deposit`, `payout-fee`). */
  codeLengthMax: 64,
  /** Metadata keys per transfer. Stripe allows 50; ours carry references (tx hash, invoice id), not documents. */
  metadataKeysMax: 32,
  /** UTF-8 bytes of metadata keys plus values: keeps a transfer row small enough for one heap page. */
  metadataBytesMax: 4096,
  /** Shortest pending timeout; tests use it, and anything shorter cannot be told apart from no reservation. */
  pendingTimeoutMsMin: 1,
  /** Longest pending timeout (30 days): a reservation older than a payout-approval cycle is a forgotten one. */
  pendingTimeoutMsMax: 2_592_000_000,
  /** Statement lines per page by default, and at most (a page is one index range scan per side). */
  statementPageSizeDefault: 50,
  statementPageSizeMax: 500,
  /** Accounts returned for one owner: a merchant holds a handful of purposes per asset, never hundreds. */
  ownerAccountsMax: 200,
  /** Pending transfers expired per round trip: bounds the locks one expiry batch holds. */
  expireBatchSizeMax: 500,
  /** Expiry batches per expirePendingTransfers call, so one job run is bounded too. */
  expireBatchesPerRunMax: 20,
  /** Hot deltas folded per round trip: one UPDATE per hot account, so this bounds the statement, not locks. */
  hotDeltaFoldBatchSizeMax: 10_000,
  /** Fold batches per foldHotAccountDeltas call. */
  hotDeltaFoldBatchesPerRunMax: 20,
  /** Accounts recomputed per verify query: one query's memory stays small however large the ledger. */
  verifyAccountsPerPage: 1_000,
  /** Drifting accounts listed by verify; after that it only counts them (the first few tell the story). */
  verifyDriftsReportedMax: 1_000,
} as const

/** Relations between the limits, checked when the module loads. */
function assertLedgerLimitRelations(): void {
  const limits = ledgerLimits
  assert(
    limits.statementPageSizeDefault <= limits.statementPageSizeMax,
    'statement page default must not exceed max',
  )
  assert(limits.pendingTimeoutMsMin >= 1, 'a pending transfer must time out')
  assert(limits.pendingTimeoutMsMin <= limits.pendingTimeoutMsMax, 'pending timeout range must not be empty')
  // 'expire:' + the pending id must fit the 108 characters the database allows.
  assert(
    limits.transferIdLengthMax + 'expire:'.length <= 108,
    'expiry ids must fit the transfer id column check',
  )
}
assertLedgerLimitRelations()
