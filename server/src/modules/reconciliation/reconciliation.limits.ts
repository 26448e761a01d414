import { assert } from '../../lib/assert.ts'

/**
 * Limits of hot-wallet reconciliation (docs/adr/0027-chain-reconciliation.md), named with the unit last,
 * each with its reason (the convention of config/limits.ts).
 */
export const reconciliationLimits = {
  /**
   * One check per network per minute, like watch-treasury: balances change only with payouts, sweeps and
   * top-ups, and a minute is fine-grained enough for an incident measured in minutes; three or four RPC
   * reads per asset per minute cost nothing.
   */
  checkEveryMs: 60_000,
  /**
   * The persistence rule: a drift becomes a reconciliation incident when the *same* non-zero drift was
   * seen on at least `incidentChecksMin` consecutive checks that span at least `incidentSpanMsMin`.
   *
   * Why a drift can be legitimate for a while: the ledger books a payout, a sweep or a sweep to cold when
   * the job that sends it sees its receipt at finality, which is after the block is final (payouts run
   * every 10 s, sweeps every 30 s and 60 s after a failed run). So for up to about a minute a check can
   * see the chain at a finalized block that already holds a movement the ledger has not booked yet. Such a
   * difference is recorded, not alerted, and it changes as soon as the booking lands: the next check sees
   * zero or another figure, which restarts the count. An unbooked inflow (tokens sent to the hot wallet, a
   * top-up from cold) or an untracked fee stays exactly the same from check to check, so "the same drift"
   * is what tells the two apart. Three checks over five minutes is well past the slowest booking path
   * (two failed sweep runs), and soon enough for a treasurer.
   *
   * Failed checks (RPC down) are skipped: they neither count nor break the streak.
   */
  incidentChecksMin: 3,
  incidentSpanMsMin: 300_000,
  /**
   * Check rows kept per asset: a day at one per minute (1,440 rows per asset) is enough to see how a
   * drift arose; incidents are kept for ever (they are rare and are the record).
   */
  checkRetentionMs: 86_400_000,
  /**
   * Open sweeps whose gas top-up is booked, read per check to find top-ups mined after the finalized
   * block: at most topUpsInFlightMax (16) are signed at a time per network; sweeps then wait for finality.
   */
  bookedTopUpsReadMax: 256,
  /** Assets reported on /metrics: networks × (tokens + native). A hundred networks of nine assets fit. */
  statusAssetsMax: 1_000,
  /** Longest error text stored with a failed check (the column's bound). */
  errorLengthMax: 500,
} as const

/** Relations between the limits, checked when the module loads. */
function assertReconciliationLimitRelations(): void {
  const limits = reconciliationLimits
  assert(limits.incidentChecksMin >= 2, 'one check cannot tell a persisting drift from a booking in flight')
  assert(
    limits.incidentSpanMsMin >= (limits.incidentChecksMin - 1) * limits.checkEveryMs,
    'the span must be reachable by the minimum number of periodic checks',
  )
  assert(limits.checkRetentionMs > limits.incidentSpanMsMin, 'a streak must fit in the kept checks')
}
assertReconciliationLimitRelations()
