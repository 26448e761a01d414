import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { minorDueFor, valueOfPayment } from './invoice.money.ts'

describe('invoice value conversions', () => {
  it('the minor amount asked covers the due value, and one unit less does not', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 45n }),
        fc.constantFrom(0, 6, 18),
        fc.bigInt({ min: 10n ** 15n, max: 10n ** 21n }),
        (due, decimals, rate) => {
          const minor = minorDueFor(due, decimals, rate)
          expect(valueOfPayment(minor, decimals, rate) >= due).toBe(true)
          expect(valueOfPayment(minor - 1n, decimals, rate) < due).toBe(true)
        },
      ),
    )
  })

  it('is exact for same-currency stablecoins at 6 and 18 decimals', () => {
    const tenTokens = 10n * 10n ** 36n
    expect(minorDueFor(tenTokens, 6)).toBe(10_000_000n)
    expect(minorDueFor(tenTokens, 18)).toBe(10n * 10n ** 18n)
    expect(valueOfPayment(10_000_000n, 6)).toBe(tenTokens)
    expect(valueOfPayment(10n * 10n ** 18n, 18)).toBe(tenTokens)
  })

  it('rounds the amount asked up, by less than one minor unit, for a fiat rate', () => {
    // 10.00 EUR at 1.0834 USDT per EUR = 10.834 USDT
    const due = 1000n * 10n ** 34n
    expect(minorDueFor(due, 6, 1_083_400_000_000_000_000n)).toBe(10_834_000n)
    // 1.00 EUR at 1.0833333 → 1.0833333 USDT: 6 decimals cannot hold it; ask 1.083334
    expect(minorDueFor(100n * 10n ** 34n, 6, 1_083_333_300_000_000_000n)).toBe(1_083_334n)
  })
})
