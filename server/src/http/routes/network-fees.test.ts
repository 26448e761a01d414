import { describe, expect, it } from 'vitest'
import type { NetworkConfig } from '../../config/config.types.ts'
import { finalSeconds, networkFeeLimits, rankNetworkFees } from './network-fees.ts'

const row = (network: string, gasPriceWei: string | null, seconds: number) => ({
  network,
  gas_price_wei: gasPriceWei,
  transfer_gas: networkFeeLimits.transferGas.toString(),
  fee_native: null,
  final_seconds: seconds,
})

describe('checkout fee hint', () => {
  it('marks the cheapest and the fastest network, and neither when all are alike', () => {
    const ranked = rankNetworkFees([row('a', '30', 60), row('b', '5', 600), row('c', null, 10)])
    expect(ranked.map((fee) => [fee.network, fee.cheapest, fee.fastest])).toEqual([
      ['a', false, false],
      ['b', true, false],
      ['c', false, true],
    ])
    const alike = rankNetworkFees([row('a', '5', 60), row('b', '5', 60)])
    expect(alike.every((fee) => !fee.cheapest && !fee.fastest)).toBe(true)
  })

  it('estimates finality from block time and the finality rule', () => {
    const base = { blockTimeMs: 12_000 } as NetworkConfig
    expect(
      finalSeconds({ ...base, finality: { kind: 'confirmations', confirmations: 5 } } as NetworkConfig),
    ).toBe(60)
    expect(finalSeconds({ ...base, finality: { kind: 'tag' } } as NetworkConfig)).toBe(
      (networkFeeLimits.finalizedTagBlocks * 12_000) / 1000,
    )
  })
})
