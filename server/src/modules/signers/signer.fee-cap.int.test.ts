import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CustodyFixture,
  fixtureNetworkName,
  startCustodyFixture,
} from '../../../test/setup/custody-fixture.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { createPayoutRunner } from '../../jobs/send-payouts.ts'
import { createLogger } from '../../lib/logger.ts'

// The per-network max fee cap on anvil: with the base fee raised above it (anvil_setNextBlockBaseFeePerGas)
// an approved payout waits (not fails) with a visible reason; once the market is back under the cap it is
// signed, with the max fee lowered to the cap when only the 2 × base headroom was above it.
const gwei = 1_000_000_000n
const capWei = 100n * gwei

let fixture: CustodyFixture
let network: NetworkConfig

async function setBaseFee(wei: bigint): Promise<void> {
  await fixture.chain.rpc('anvil_setNextBlockBaseFeePerGas', [`0x${wei.toString(16)}`])
  await fixture.chain.mine(1)
}

async function storedMaxFee(payoutId: string): Promise<bigint | undefined> {
  const result = await fixture.database.pool.query<{ max_fee_per_gas: string }>(
    'select max_fee_per_gas from payout_transactions where payout_id = $1 order by attempt',
    [payoutId],
  )
  const first = result.rows[0]
  return first === undefined ? undefined : BigInt(first.max_fee_per_gas)
}

beforeAll(async () => {
  fixture = await startCustodyFixture()
  await fixture.fund('USDT', 1_000_000_000n)
  network = { ...fixture.network, maxFeePerGasCapWei: capWei }
})

afterAll(async () => {
  await fixture?.stop()
})

describe('per-network fee cap', () => {
  it('waits above the cap with the reason, sends under it with max fee ≤ cap, and finalizes', async () => {
    const run = createPayoutRunner({
      pool: fixture.database.pool,
      logger: createLogger('silent'),
      networks: [network],
      masterKeyProvider: fixture.provider,
      now: fixture.now,
    })
    const to = fixture.destination(11)
    const payout = await fixture.approve(await fixture.request(to, '7'))
    await setBaseFee(1_000n * gwei)
    await run(fixtureNetworkName)
    const waiting = await fixture.payout(payout.id)
    expect(waiting.status).toBe('queued')
    expect(waiting.error).toMatch(
      /^fee-cap-exceeded: needs \d+ wei\/gas \(base \+ tip\), the network cap is 100000000000 wei\/gas/,
    )
    expect(await storedMaxFee(payout.id)).toBeUndefined()
    // Base ≈ 60 gwei: base + tip fits under 100 gwei, 2 × base + tip does not → capped at exactly the cap.
    await setBaseFee(68n * gwei)
    await run(fixtureNetworkName)
    expect((await fixture.payout(payout.id)).status).toBe('broadcast')
    expect(await storedMaxFee(payout.id)).toBe(capWei)
    for (let index = 0; index < 5 && (await fixture.payout(payout.id)).status !== 'finalized'; index += 1) {
      await fixture.chain.mine(3)
      await run(fixtureNetworkName)
    }
    expect((await fixture.payout(payout.id)).status).toBe('finalized')
    expect(await fixture.transfersTo(fixture.chain.tokens.usdt, to)).toBe(1)
  })
})
