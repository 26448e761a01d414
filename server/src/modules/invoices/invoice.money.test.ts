import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type BuyerCreditPart, minorDueFor, planBuyerCredit, valueOfPayment } from './invoice.money.ts'

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

describe('buyer credit top-ups', () => {
  const usdt = (assetId: string, arrived: bigint, credited: bigint, coverable: bigint): BuyerCreditPart => ({
    assetId,
    decimals: 6,
    rateScaled: 10n ** 18n,
    arrivedMinor: arrived,
    creditedMinor: credited,
    coverableMinor: coverable,
  })
  const owed = (minor: bigint) => valueOfPayment(minor, 6)

  it('credits only what was not credited yet, from the least credited asset, within the store’s balance', () => {
    // 21 paid for 10 due on two networks; 10 credited already on chain-a.
    const parts = [
      usdt('USDT@a', 15_000_000n, 10_000_000n, 5_000_000n),
      usdt('USDT@b', 6_000_000n, 0n, 6_000_000n),
    ]
    expect(planBuyerCredit(owed(11_000_000n), parts)).toEqual({
      credits: [{ assetId: 'USDT@b', minor: 1_000_000n }],
      short: false,
    })
    expect(planBuyerCredit(owed(10_000_000n), parts)).toEqual({ credits: [], short: false })
    // The store spent chain-b: chain-a covers it; with neither, it waits.
    const spent = [usdt('USDT@a', 15_000_000n, 10_000_000n, 5_000_000n), usdt('USDT@b', 6_000_000n, 0n, 0n)]
    expect(planBuyerCredit(owed(11_000_000n), spent).credits).toEqual([
      { assetId: 'USDT@a', minor: 1_000_000n },
    ])
    const broke = [usdt('USDT@a', 15_000_000n, 10_000_000n, 400_000n), usdt('USDT@b', 6_000_000n, 0n, 0n)]
    expect(planBuyerCredit(owed(11_000_000n), broke)).toEqual({
      credits: [{ assetId: 'USDT@a', minor: 400_000n }],
      short: true,
    })
  })

  it('never credits more of an asset than arrived or the store holds, and tops up to the owed value', () => {
    const part = fc.record({
      decimals: fc.constantFrom(6, 18),
      rateScaled: fc.oneof(fc.constant(10n ** 18n), fc.bigInt({ min: 10n ** 17n, max: 10n ** 19n })),
      arrivedMinor: fc.bigInt({ min: 0n, max: 10n ** 20n }),
      creditedShare: fc.bigInt({ min: 0n, max: 100n }),
      coverableMinor: fc.bigInt({ min: 0n, max: 10n ** 20n }),
    })
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 3 }),
        fc.bigInt({ min: 0n, max: 100n }),
        (lines, share) => {
          const parts = lines.map((line, index) => ({
            assetId: `USDT@n${index}`,
            decimals: line.decimals,
            rateScaled: line.rateScaled,
            arrivedMinor: line.arrivedMinor,
            creditedMinor: (line.arrivedMinor * line.creditedShare) / 200n,
            coverableMinor: line.coverableMinor,
          }))
          const arrivedValue = parts.reduce(
            (sum, p) => sum + valueOfPayment(p.arrivedMinor, p.decimals, p.rateScaled),
            0n,
          )
          const owedValue = (arrivedValue * share) / 100n
          const plan = planBuyerCredit(owedValue, parts)
          const initial = parts.reduce(
            (sum, p) => sum + valueOfPayment(p.creditedMinor, p.decimals, p.rateScaled),
            0n,
          )
          let credited = initial
          for (const credit of plan.credits) {
            const p = parts.find((candidate) => candidate.assetId === credit.assetId) as BuyerCreditPart
            expect(credit.minor > 0n).toBe(true)
            expect(credit.minor <= p.arrivedMinor - p.creditedMinor && credit.minor <= p.coverableMinor).toBe(
              true,
            )
            credited += valueOfPayment(credit.minor, p.decimals, p.rateScaled)
          }
          expect(new Set(plan.credits.map((credit) => credit.assetId)).size).toBe(plan.credits.length)
          // Each credit is worth at most what remained when it was taken: together never past the owed value.
          if (initial <= owedValue) expect(credited <= owedValue).toBe(true)
          // Nothing held back: applying the plan leaves nothing to credit (stablecoin arithmetic is exact).
          if (parts.every((p) => p.rateScaled === 10n ** 18n) && !plan.short) {
            const applied = parts.map((p) => ({
              ...p,
              creditedMinor:
                p.creditedMinor + (plan.credits.find((c) => c.assetId === p.assetId)?.minor ?? 0n),
            }))
            expect(planBuyerCredit(owedValue, applied).credits).toEqual([])
          }
        },
      ),
    )
  })
})
