import { describe, expect, it } from 'vitest'
import { canBeOrphaned, classifyNewPayment, progressOf } from './payment.state.ts'

const base = {
  assetConfigured: true,
  amount: 1_000_000n,
  dustThresholdMinor: 10_000n,
  senderSanctioned: false,
}

describe('classifyNewPayment', () => {
  it.each([
    ['a configured token above the dust line', base, 'detected', 'payment.initiated'],
    ['an unconfigured token', { ...base, assetConfigured: false }, 'unsupported', null],
    ['a zero-value transfer', { ...base, amount: 0n }, 'dust', null],
    ['one unit below the dust line', { ...base, amount: 9_999n }, 'dust', null],
    ['exactly the dust line', { ...base, amount: 10_000n }, 'detected', 'payment.initiated'],
    ['a sanctioned sender', { ...base, senderSanctioned: true }, 'held', 'payment.held'],
  ] as const)('%s', (_case, input, status, event) => {
    expect(classifyNewPayment(input)).toEqual({ status, event })
  })
})

describe('progressOf', () => {
  const at = (headNumber: bigint, finalizedNumber: bigint) => ({ headNumber, finalizedNumber })
  it.each([
    ['detected, 1 confirmation', 'detected', false, 100n, at(100n, 90n), 'none'],
    ['detected, 2 confirmations', 'detected', false, 100n, at(101n, 90n), 'confirm'],
    ['confirmed, one block short of final', 'confirmed', false, 100n, at(110n, 99n), 'none'],
    ['confirmed, final', 'confirmed', false, 100n, at(110n, 100n), 'finalize'],
    ['detected straight to final', 'detected', false, 100n, at(110n, 105n), 'finalize'],
    ['held becomes final', 'held', false, 100n, at(110n, 100n), 'finalize-held'],
    ['held already final', 'held', true, 100n, at(110n, 100n), 'none'],
    ['finalized stays', 'finalized', true, 100n, at(200n, 150n), 'none'],
    ['orphaned stays', 'orphaned', false, 100n, at(200n, 150n), 'none'],
    ['dust never progresses', 'dust', false, 100n, at(200n, 150n), 'none'],
  ] as const)('%s', (_case, status, final, block, observation, kind) => {
    expect(progressOf(status, final, block, observation).kind).toBe(kind)
  })
})

describe('canBeOrphaned', () => {
  it('never takes back anything final', () => {
    expect(canBeOrphaned('finalized', true)).toBe(false)
    expect(canBeOrphaned('held', true)).toBe(false)
    expect(canBeOrphaned('confirmed', false)).toBe(true)
    expect(canBeOrphaned('orphaned', false)).toBe(false)
  })
})
