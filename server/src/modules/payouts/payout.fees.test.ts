import { describe, expect, it } from 'vitest'
import { feesFor, gasLimitFor, networkFeeInAsset, replacementFees } from './payout.fees.ts'

describe('payout fees', () => {
  it('max fee = 2 × base + priority', () => {
    expect(feesFor({ baseFeePerGas: 10n, priorityFeePerGas: 2n })).toEqual({
      maxFeePerGas: 22n,
      maxPriorityFeePerGas: 2n,
    })
  })

  it('a replacement beats the old fees by at least 10 % on both fields', () => {
    const previous = { maxFeePerGas: 1_000n, maxPriorityFeePerGas: 100n }
    const next = replacementFees(previous, { baseFeePerGas: 1n, priorityFeePerGas: 1n })
    expect(next.maxFeePerGas * 100n).toBeGreaterThanOrEqual(previous.maxFeePerGas * 110n)
    expect(next.maxPriorityFeePerGas * 100n).toBeGreaterThanOrEqual(previous.maxPriorityFeePerGas * 110n)
  })

  it('a replacement never bids below the market', () => {
    const next = replacementFees(
      { maxFeePerGas: 10n, maxPriorityFeePerGas: 1n },
      { baseFeePerGas: 1_000n, priorityFeePerGas: 50n },
    )
    expect(next).toEqual({ maxFeePerGas: 2_050n, maxPriorityFeePerGas: 50n })
  })

  it('rounds the gas limit up', () => {
    expect(gasLimitFor(43_001n)).toBe(53_752n)
  })
})

describe('networkFeeInAsset (the cost KPI)', () => {
  const usdt = { symbol: 'USDT', decimals: 6 }
  const busd = { symbol: 'BSC-USD', decimals: 18 }
  const rates = { ETH: { USDT: '3000', 'BSC-USD': '3000.5' }, BNB: { USDT: '600.25' } }

  it('prices gas in the payout token at the configured rate, rounding down to its minor unit', () => {
    // 21,000 gas × 20 gwei = 0.00042 ETH = 1.26 USDT
    expect(networkFeeInAsset(420_000_000_000_000n, usdt, 'ETH', rates)).toEqual({
      inAssetMinor: 1_260_000n,
      rate: '3000',
    })
    // 18 decimals: exact
    expect(networkFeeInAsset(420_000_000_000_000n, busd, 'ETH', rates)?.inAssetMinor).toBe(
      1_260_210_000_000_000_000n,
    )
    // 1 wei × 600.25 = 6.0025e-16 USDT: below one minor unit, rounded down to 0 (never up)
    expect(networkFeeInAsset(1n, usdt, 'BNB', rates)).toEqual({ inAssetMinor: 0n, rate: '600.25' })
    // one minor unit exactly: 1e-6 USDT at 3000 USDT/ETH = 333,333,333.33… wei → 333,333,334 wei is ≥ 1 unit
    expect(networkFeeInAsset(333_333_333n, usdt, 'ETH', rates)?.inAssetMinor).toBe(0n)
    expect(networkFeeInAsset(333_333_334n, usdt, 'ETH', rates)?.inAssetMinor).toBe(1n)
  })

  it('says unknown (null) without a rate for the native coin or the token, or with a malformed one', () => {
    expect(networkFeeInAsset(1_000n, usdt, 'MATIC', rates)).toBeNull()
    expect(networkFeeInAsset(1_000n, { symbol: 'USDC', decimals: 6 }, 'ETH', rates)).toBeNull()
    expect(networkFeeInAsset(1_000n, usdt, 'ETH', { ETH: { USDT: '3e3' } })).toBeNull()
    expect(networkFeeInAsset(1_000n, usdt, 'ETH', { ETH: { USDT: '-3' } })).toBeNull()
  })
})

describe('payout fee replacement', () => {
  // ADR 0014: +12.5 % (rounded up) + 1 wei, not +25 % (review, 2026-11-22: the factor was read as 125 %).
  it('bids +12.5 % + 1 wei over the stuck attempt in a quiet market', () => {
    expect(
      replacementFees(
        { maxFeePerGas: 1_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n },
        { baseFeePerGas: 0n, priorityFeePerGas: 0n },
      ),
    ).toEqual({ maxFeePerGas: 1_125_000_001n, maxPriorityFeePerGas: 1_125_000_001n })
  })
})
