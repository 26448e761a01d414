import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import { refundLimits } from '../modules/refunds/refund.limits.ts'
import {
  followRefundPayout,
  payOutRefund,
  payOutRefundJobKind,
  refundPayoutEndedJobKind,
} from '../modules/refunds/refund.service.ts'
import { type JobHandler, RetryLater } from './runner.ts'

/**
 * `pay-out-refund` (enqueued when the buyer names a destination): the refund becomes a payout. Refused by
 * the store's payout rules (address book, cooldown), it is tried again later, until the merchant fixes the
 * rule or the refund expires (then there is nothing to do).
 */
export function createPayOutRefundHandler(
  pool: Pool,
  networks: readonly NetworkConfig[],
): [string, JobHandler] {
  return [
    payOutRefundJobKind,
    async (job) => {
      const refundId = job.payload.refund_id
      assert(typeof refundId === 'string', 'pay-out-refund job without refund_id')
      const result = await payOutRefund(pool, refundId, { networks, now: () => new Date() })
      if (result.kind === 'refused')
        throw new RetryLater(refundLimits.payoutRetryDelayMs, `refund payout refused: ${result.code}`)
    },
  ]
}

/**
 * `refund-payout-ended` (written by the database when a refund's payout or its canary ends, migration
 * 0025): the buyer-credit part of a refund its payout did not pay goes back to the buyer credit. If the
 * store has meanwhile spent what the payout's end released, it is tried again later, until it can. A
 * refund of the invoice opened meanwhile returns it first or is refused (openRefund); the retry then
 * replays that transfer.
 */
export function createRefundPayoutEndedHandler(pool: Pool): [string, JobHandler] {
  return [
    refundPayoutEndedJobKind,
    async (job) => {
      const refundId = job.payload.refund_id
      assert(typeof refundId === 'string', 'refund-payout-ended job without refund_id')
      const result = await followRefundPayout(pool, refundId, new Date())
      if (result.kind === 'waiting-for-funds')
        throw new RetryLater(refundLimits.payoutRetryDelayMs, 'buyer credit waits for the store’s balance')
    },
  ]
}
