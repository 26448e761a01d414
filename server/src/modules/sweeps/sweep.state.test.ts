import { describe, expect, it } from 'vitest'
import { AssertionFailure } from '../../lib/assert.ts'
import { sweepLimits } from './sweep.limits.ts'
import {
  canTransition,
  decideSent,
  decideTopUp,
  feePaid,
  feesFor,
  fundedFees,
  gasLimitFor,
  isOpen,
  replacementFees,
  type SweepEvent,
  sweepAmount,
  sweepThresholdMinor,
  topUpAmount,
  transition,
} from './sweep.state.ts'
import type { SweepReceipt, SweepStatus } from './sweep.types.ts'

const statuses: readonly SweepStatus[] = ['planned', 'gas-funding', 'ready', 'sent', 'finalized', 'failed']
const legal: ReadonlyArray<readonly [SweepStatus, SweepEvent, SweepStatus]> = [
  ['planned', 'top-up-signed', 'gas-funding'],
  ['planned', 'gas-already-funded', 'ready'],
  ['gas-funding', 'top-up-included', 'ready'],
  ['gas-funding', 'top-up-reverted', 'failed'],
  ['ready', 'sweep-signed', 'sent'],
  ['sent', 'sweep-final', 'finalized'],
  ['sent', 'sweep-moved-nothing', 'failed'],
]

describe('transition', () => {
  it.each(legal)('%s + %s → %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to)
  })

  // The negative space: every (status, event) pair not in the table is refused as a bug.
  const events = [...new Set(legal.map(([, event]) => event))]
  const illegal = statuses.flatMap((status) =>
    events
      .filter((event) => !legal.some(([from, e]) => from === status && e === event))
      .map((event) => [status, event] as const),
  )
  it.each(illegal)('%s + %s is illegal', (status, event) => {
    expect(canTransition(status, event)).toBe(false)
    expect(() => transition(status, event)).toThrow(AssertionFailure)
  })

  it('has no way out of finalized or failed', () => {
    expect(isOpen('finalized')).toBe(false)
    expect(isOpen('failed')).toBe(false)
    for (const status of ['planned', 'gas-funding', 'ready', 'sent'] as const)
      expect(isOpen(status)).toBe(true)
  })
})

describe('sweepThresholdMinor', () => {
  it.each([
    ['USDT', 6, 10_000_000n],
    ['BSC-USD', 18, 10n * 10n ** 18n],
    ['ODD', 0, 10n],
  ])('%s with %i decimals', (symbol, decimals, expected) => {
    expect(sweepThresholdMinor(symbol, decimals)).toBe(expected)
  })

  it('refuses fractional decimals', () => {
    expect(() => sweepThresholdMinor('X', 6.5)).toThrow(AssertionFailure)
  })
})

describe('sweepAmount', () => {
  it.each([
    ['chain holds more (held deposits stay)', 10n, 15n, 10n, 0n],
    ['chain agrees', 10n, 10n, 10n, 0n],
    ['chain holds one unit less', 10n, 9n, 9n, 1n],
    ['chain holds nothing', 10n, 0n, 0n, 10n],
  ])('%s', (_case, credited, onChain, amount, shortfall) => {
    expect(sweepAmount(credited, onChain)).toEqual({ amount, shortfall })
  })
})

describe('gasLimitFor', () => {
  it.each([
    [100n, 125n],
    [38_200n, 47_750n],
    [29_677n, 37_097n], // 37,096.25 rounds up
    [1n, 2n],
  ])('%s → %s', (estimate, limit) => {
    expect(gasLimitFor(estimate)).toBe(limit)
  })
})

describe('feesFor', () => {
  const gwei = 1_000_000_000n
  it('is base × multiplier + priority', () => {
    expect(feesFor({ baseFeePerGas: 10n * gwei, priorityFeePerGas: 2n * gwei })).toEqual({
      kind: 'fees',
      maxFeePerGas: 22n * gwei,
      maxPriorityFeePerGas: 2n * gwei,
    })
  })

  it('accepts exactly the cap and refuses one wei more', () => {
    const cap = sweepLimits.maxFeePerGasCapWei
    const priority = 1n * gwei
    const base = ((cap - priority) * 100n) / sweepLimits.baseFeeMultiplierPercent
    expect(feesFor({ baseFeePerGas: base, priorityFeePerGas: priority }).kind).toBe('fees')
    expect(feesFor({ baseFeePerGas: base, priorityFeePerGas: priority + 1n }).kind).toBe('over-cap')
  })

  it('accepts a zero fee market (devnets): the top-up is then zero too', () => {
    expect(feesFor({ baseFeePerGas: 0n, priorityFeePerGas: 0n })).toEqual({
      kind: 'fees',
      maxFeePerGas: 0n,
      maxPriorityFeePerGas: 0n,
    })
  })

  it('refuses a priority fee over its own cap', () => {
    const priority = sweepLimits.maxPriorityFeePerGasCapWei
    expect(feesFor({ baseFeePerGas: 1n, priorityFeePerGas: priority }).kind).toBe('fees')
    expect(feesFor({ baseFeePerGas: 1n, priorityFeePerGas: priority + 1n }).kind).toBe('over-cap')
  })
})

describe('topUpAmount', () => {
  const gas = { gasLimit: 50_000n, maxFeePerGas: 3n }
  it.each([
    ['an empty address gets the whole budget', 0n, 150_000n],
    ['dust from an earlier sweep is counted', 100_000n, 50_000n],
    ['exactly enough needs nothing', 150_000n, 0n],
    ['more than enough needs nothing', 150_001n, 0n],
  ])('%s', (_case, balance, expected) => {
    expect(topUpAmount(gas, balance)).toBe(expected)
  })
})

describe('fundedFees', () => {
  const market = { baseFeePerGas: 10n, priorityFeePerGas: 2n } // wants 22 per gas
  it('uses the market fee when the address can pay it', () => {
    expect(fundedFees(market, 22n * 1_000n, 1_000n)).toEqual({
      kind: 'fees',
      maxFeePerGas: 22n,
      maxPriorityFeePerGas: 2n,
    })
  })

  it('lowers the max fee to what the address holds', () => {
    expect(fundedFees(market, 15n * 1_000n + 999n, 1_000n)).toEqual({
      kind: 'fees',
      maxFeePerGas: 15n,
      maxPriorityFeePerGas: 2n,
    })
  })

  it('waits when the address cannot pay the base fee', () => {
    expect(fundedFees(market, 9n * 1_000n, 1_000n)).toEqual({
      kind: 'underfunded',
      affordableMaxFeePerGas: 9n,
    })
  })

  it('signs at zero on a zero fee market with an empty address', () => {
    expect(fundedFees({ baseFeePerGas: 0n, priorityFeePerGas: 0n }, 0n, 1_000n).kind).toBe('fees')
  })

  it('refuses when fees are over the cap, whatever the address holds', () => {
    const market = { baseFeePerGas: sweepLimits.maxFeePerGasCapWei, priorityFeePerGas: 1n }
    expect(fundedFees(market, 10n ** 30n, 1_000n)).toEqual({ kind: 'over-cap' })
  })

  it('keeps the tip within the max fee', () => {
    expect(fundedFees({ baseFeePerGas: 0n, priorityFeePerGas: 5n }, 3_000n, 1_000n)).toEqual({
      kind: 'fees',
      maxFeePerGas: 3n,
      maxPriorityFeePerGas: 3n,
    })
  })
})

describe('feePaid', () => {
  it('is exact at 18 decimals', () => {
    expect(feePaid({ gasUsed: 38_200n, effectiveGasPrice: 1_234_567_891n })).toBe(47_160_493_436_200n)
  })
})

const hot = '0x2222222222222222222222222222222222222222'
const deposit = '0x1111111111111111111111111111111111111111'
const token = '0x3333333333333333333333333333333333333333'
const expected = { tokenAddress: token, from: deposit, to: hot, amount: 10_000_000n }
const receipt = (overrides: Partial<SweepReceipt>): SweepReceipt => ({
  status: 'success',
  blockNumber: 100n,
  gasUsed: 38_200n,
  effectiveGasPrice: 1n,
  transfers: [{ tokenAddress: token, from: deposit, to: hot, amount: 10_000_000n }],
  ...overrides,
})

describe('decideTopUp', () => {
  it.each([
    ['no receipt', undefined, 'rebroadcast'],
    ['included', receipt({ transfers: [] }), 'included'],
    ['reverted', receipt({ status: 'reverted', transfers: [] }), 'reverted'],
  ] as const)('%s', (_case, observed, decision) => {
    expect(decideTopUp(observed)).toBe(decision)
  })
})

describe('decideSent', () => {
  it.each([
    ['no receipt', undefined, 100n, 'rebroadcast'],
    ['one block short of final', receipt({}), 99n, 'wait'],
    ['final with the planned Transfer', receipt({}), 100n, 'finalize'],
    ['final but reverted', receipt({ status: 'reverted', transfers: [] }), 100n, 'moved-nothing'],
    ['success without a Transfer (returned false)', receipt({ transfers: [] }), 100n, 'moved-nothing'],
    [
      'a Transfer of another token only',
      receipt({ transfers: [{ tokenAddress: hot, from: deposit, to: hot, amount: 1n }] }),
      100n,
      'moved-nothing',
    ],
    [
      'one unit less than planned',
      receipt({ transfers: [{ tokenAddress: token, from: deposit, to: hot, amount: 9_999_999n }] }),
      100n,
      'anomaly',
    ],
    [
      'to another recipient',
      receipt({ transfers: [{ tokenAddress: token, from: deposit, to: token, amount: 10_000_000n }] }),
      100n,
      'anomaly',
    ],
  ] as const)('%s', (_case, observed, finalizedNumber, kind) => {
    expect(decideSent(observed, finalizedNumber, expected).kind).toBe(kind)
  })
})

describe('replacementFees', () => {
  const gwei = 1_000_000_000n
  const caps = { maxFeePerGasCapWei: 500n * gwei, maxPriorityFeePerGasCapWei: 50n * gwei }

  it("bids today's market when the base fee rose above the stuck attempt", () => {
    const previous = { maxFeePerGas: gwei + 2n, maxPriorityFeePerGas: gwei }
    const market = { baseFeePerGas: 100n * gwei, priorityFeePerGas: gwei }
    // tip: 1 gwei × 1.125 + 1 wei; max: 2 × 100 gwei + that tip.
    expect(replacementFees(previous, market, caps)).toEqual({
      kind: 'fees',
      maxFeePerGas: 201_125_000_001n,
      maxPriorityFeePerGas: 1_125_000_001n,
    })
  })

  it('bumps both fields by 12.5 % (rounded up) + 1 wei in a quiet market', () => {
    const previous = { maxFeePerGas: 100n, maxPriorityFeePerGas: 10n }
    expect(replacementFees(previous, { baseFeePerGas: 1n, priorityFeePerGas: 1n }, caps)).toEqual({
      kind: 'fees',
      maxFeePerGas: 114n,
      maxPriorityFeePerGas: 13n,
    })
  })

  it('lowers a market bid to the cap while it still beats the stuck attempt', () => {
    const previous = { maxFeePerGas: 300n * gwei, maxPriorityFeePerGas: 2n * gwei }
    const market = { baseFeePerGas: 300n * gwei, priorityFeePerGas: 2n * gwei }
    expect(replacementFees(previous, market, caps)).toEqual({
      kind: 'fees',
      maxFeePerGas: 500n * gwei,
      maxPriorityFeePerGas: 2_250_000_001n,
    })
  })

  it('is over the cap when the smallest accepted bump is above it (max fee or tip)', () => {
    const market = { baseFeePerGas: gwei, priorityFeePerGas: gwei }
    expect(
      replacementFees({ maxFeePerGas: 450n * gwei, maxPriorityFeePerGas: 2n * gwei }, market, caps),
    ).toEqual({ kind: 'over-cap', maxFeePerGas: 506_250_000_001n, maxPriorityFeePerGas: 2_250_000_001n })
    expect(
      replacementFees({ maxFeePerGas: 100n * gwei, maxPriorityFeePerGas: 45n * gwei }, market, caps).kind,
    ).toBe('over-cap')
    // At the cap exactly: accepted; one wei more needed: refused.
    // ceil(M × 1.125) + 1 ≤ 500 gwei up to M = 444,444,444,443 wei.
    const atCap = { maxFeePerGas: 444_444_444_443n, maxPriorityFeePerGas: gwei }
    expect(replacementFees(atCap, market, caps).kind).toBe('fees')
    expect(replacementFees({ ...atCap, maxFeePerGas: 444_444_444_444n }, market, caps).kind).toBe('over-cap')
  })

  it('always beats the node minimum (+10 %) on both fields and stays under the caps', () => {
    for (let max = 1n; max < 10n ** 13n; max = max * 7n + 3n)
      for (const tipShare of [0n, 1n, 50n, 100n]) {
        const previous = { maxFeePerGas: max, maxPriorityFeePerGas: (max * tipShare) / 100n }
        for (const base of [0n, 1n, max, 10n * gwei]) {
          const fees = replacementFees(previous, { baseFeePerGas: base, priorityFeePerGas: gwei }, caps)
          if (fees.kind === 'over-cap') continue
          expect(fees.maxFeePerGas * 100n).toBeGreaterThanOrEqual(previous.maxFeePerGas * 110n)
          expect(fees.maxPriorityFeePerGas * 100n).toBeGreaterThanOrEqual(
            previous.maxPriorityFeePerGas * 110n,
          )
          expect(fees.maxPriorityFeePerGas).toBeLessThanOrEqual(fees.maxFeePerGas)
          expect(fees.maxFeePerGas).toBeLessThanOrEqual(caps.maxFeePerGasCapWei)
          expect(fees.maxPriorityFeePerGas).toBeLessThanOrEqual(caps.maxPriorityFeePerGasCapWei)
        }
      }
  })
})
