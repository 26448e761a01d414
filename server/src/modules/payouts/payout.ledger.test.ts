import { describe, expect, it } from 'vitest'
import { splitBatchFee } from './payout.ledger.ts'

describe('splitBatchFee', () => {
  it('splits a batch fee into shares that add up to the receipt exactly', () => {
    for (const [fee, count] of [
      [1_000n, 3],
      [2n, 3],
      [0n, 5],
      [10n ** 18n + 7n, 400],
    ] as const) {
      const shares = splitBatchFee(fee, count)
      expect(shares.length).toBe(count)
      expect(shares.reduce((sum, share) => sum + share, 0n)).toBe(fee)
      // The remainder (< count wei) rides on the first item; the others are equal.
      expect(new Set(shares.slice(1)).size).toBeLessThanOrEqual(1)
      expect((shares[0] ?? 0n) - (shares[1] ?? 0n) < BigInt(count)).toBe(true)
    }
  })

  it('gives nothing to split among no items', () => {
    expect(splitBatchFee(5n, 0)).toEqual([])
  })
})
