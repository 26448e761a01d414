import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import { PoolDemand } from '../modules/payments/deposit-address.demand.ts'
import {
  refillDepositAddressPool,
  refillDepositAddressPoolJobKind,
  refillLowDepositAddressPools,
  sweepDepositAddressPoolsJobKind,
} from '../modules/payments/deposit-address.service.ts'
import type { JobHandler } from './runner.ts'

/**
 * Derives addresses ahead of demand (docs/adr/0018): one merchant on request, all low pools on a clock.
 * Both handlers share one demand estimate, so each pool's target follows its merchant's recent use.
 */
export function depositAddressPoolHandlers(pool: Pool): [string, JobHandler][] {
  const demand = new PoolDemand()
  return [
    [
      refillDepositAddressPoolJobKind,
      async (job) => {
        const merchantId = job.payload.merchant_id
        assert(typeof merchantId === 'string', 'refill-deposit-address-pool job without merchant_id')
        await refillDepositAddressPool(pool, merchantId, demand)
      },
    ],
    [sweepDepositAddressPoolsJobKind, async () => void (await refillLowDepositAddressPools(pool, demand))],
  ]
}
