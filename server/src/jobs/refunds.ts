import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import { refundLimits } from '../modules/refunds/refund.limits.ts'
import { payOutRefund, payOutRefundJobKind } from '../modules/refunds/refund.service.ts'
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
