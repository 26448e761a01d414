import { describe, expect, it } from 'vitest'
import {
  approverCounts,
  evaluatePolicy,
  type Policy,
  type PolicyAction,
  type PolicyMatch,
  type PolicyRequest,
  scaledAmount,
} from './payout.policy.ts'
import type { PayoutRole } from './payout.types.ts'

const token = (whole: bigint) => whole * 10n ** 18n
const allow: PolicyAction = { kind: 'allow' }
const hit: PolicyAction = { kind: 'block', reason: 'rule under test' }
const noon = new Date('2030-01-01T12:00:00Z')

const base: PolicyRequest = {
  initiatorApiKeyId: 'key_a',
  initiatorRoles: ['initiator'],
  destination: '0xdest',
  destinationInAddressBook: false,
  destinationWhitelisted: false,
  sourceWallet: 'hot',
  network: 'ethereum',
  assetId: 'USDT@ethereum',
  amountScaled: token(100n),
  windowUsage: new Map(),
  now: noon,
}

/** One rule with `match` that blocks, default allow: the decision says whether the rule matched. */
function matches(match: PolicyMatch, request: Partial<PolicyRequest>): boolean {
  const policy: Policy = { rules: [{ id: 'r1', match, action: hit }], defaultAction: allow }
  return evaluatePolicy(policy, { ...base, ...request }).ruleId === 'r1'
}

const usage = (amount: bigint, count: number) => new Map([['r1', { amount, count }]])

// Each condition on both sides of its limit: [name, match, request that matches, request that does not].
const table: readonly [string, PolicyMatch, Partial<PolicyRequest>, Partial<PolicyRequest>][] = [
  ['initiator key', { initiator: { apiKeyIds: ['key_a'] } }, {}, { initiatorApiKeyId: 'key_b' }],
  ['source wallet', { sourceWallets: ['cold'] }, { sourceWallet: 'cold' }, { sourceWallet: 'hot' }],
  ['initiator role', { initiator: { roles: ['treasurer'] } }, { initiatorRoles: ['treasurer'] }, {}],
  [
    'destination address book',
    { destination: { kind: 'address_book' } },
    { destinationInAddressBook: true },
    {},
  ],
  ['destination whitelisted', { destination: { kind: 'whitelisted' } }, { destinationWhitelisted: true }, {}],
  [
    'destination not whitelisted',
    { destination: { kind: 'not_whitelisted' } },
    {},
    { destinationWhitelisted: true },
  ],
  [
    'destination specific',
    { destination: { kind: 'addresses', addresses: ['0xDEST'] } },
    {},
    { destination: '0xother' },
  ],
  ['destination any', { destination: { kind: 'any' } }, {}, {}],
  ['network', { networks: ['ethereum'] }, {}, { network: 'bsc' }],
  ['asset', { assets: ['USDT@ethereum'] }, {}, { assetId: 'USDC@ethereum' }],
  ['amount max (at the max)', { amount: { max: token(100n) } }, {}, { amountScaled: token(100n) + 1n }],
  ['amount min (at the min)', { amount: { min: token(100n) } }, {}, { amountScaled: token(100n) - 1n }],
  [
    'window amount (one unit over)',
    { window: { seconds: 3600, maxAmount: token(150n), groupBy: 'initiator' } },
    { windowUsage: usage(token(50n) + 1n, 1) },
    { windowUsage: usage(token(50n), 1) },
  ],
  [
    'window count (one over)',
    { window: { seconds: 3600, maxCount: 3, groupBy: 'destination' } },
    { windowUsage: usage(0n, 3) },
    { windowUsage: usage(0n, 2) },
  ],
  [
    'time of day (inside / at the end)',
    { timeOfDay: { fromMinute: 9 * 60, toMinute: 17 * 60 } },
    {},
    { now: new Date('2030-01-01T17:00:00Z') },
  ],
  [
    'time of day across midnight',
    { timeOfDay: { fromMinute: 22 * 60, toMinute: 6 * 60 } },
    { now: new Date('2030-01-01T05:59:00Z') },
    { now: new Date('2030-01-01T06:00:00Z') },
  ],
]

describe('policy rule conditions', () => {
  it.each(table)('%s', (_name, match, inside, outside) => {
    expect(matches(match, inside)).toBe(true)
    if (_name !== 'destination any') expect(matches(match, outside)).toBe(false)
  })

  it('all conditions of a rule must hold', () => {
    const match: PolicyMatch = { networks: ['ethereum'], amount: { max: token(10n) } }
    expect(matches(match, { amountScaled: token(10n) })).toBe(true)
    expect(matches(match, { amountScaled: token(10n), network: 'bsc' })).toBe(false)
    expect(matches(match, { amountScaled: token(11n) })).toBe(false)
  })
})

describe('policy evaluation', () => {
  const policy: Policy = {
    rules: [
      {
        id: 'block-big',
        match: { amount: { min: token(10_000n) } },
        action: { kind: 'block', reason: 'too big' },
      },
      {
        id: 'approve-mid',
        match: { amount: { min: token(1_000n) } },
        action: { kind: 'require_approval', approvals: 2, role: 'approver' },
      },
      {
        id: 'delay-new',
        match: { destination: { kind: 'not_whitelisted' } },
        action: { kind: 'delay', seconds: 3600 },
      },
      { id: 'allow-small', match: {}, action: allow },
    ],
    defaultAction: { kind: 'block', reason: 'default' },
  }

  it.each([
    [token(10_000n), false, 'block-big', 'block'],
    [token(9_999n), false, 'approve-mid', 'require_approval'],
    [token(999n), false, 'delay-new', 'delay'],
    [token(999n), true, 'allow-small', 'allow'],
  ] as const)('%s (whitelisted %s) → %s', (amountScaled, destinationWhitelisted, ruleId, kind) => {
    const decision = evaluatePolicy(policy, { ...base, amountScaled, destinationWhitelisted })
    expect(decision.ruleId).toBe(ruleId)
    expect(decision.action.kind).toBe(kind)
  })

  it('falls back to the explicit default when no rule matches', () => {
    const only: Policy = {
      rules: [{ id: 'x', match: { networks: ['bsc'] }, action: allow }],
      defaultAction: hit,
    }
    expect(evaluatePolicy(only, base)).toEqual({ ruleId: null, action: hit })
  })
})

describe('approvers', () => {
  const action = { kind: 'require_approval', approvals: 1, role: 'approver' } as const
  const approver = (apiKeyId: string | null, roles: PayoutRole[] = ['approver']) => ({
    id: 'sec_b',
    roles,
    apiKeyId,
  })
  it('the initiator never counts, by its key or by deciding with the initiating key', () => {
    expect(approverCounts(action, approver('key_a'), 'key_a', 'key_b')).toBe(false)
    expect(approverCounts(action, approver(null), 'key_a', 'key_a')).toBe(false)
    expect(approverCounts(action, approver(null), 'key_a', 'key_b')).toBe(true)
  })
  it('a person who requested in the dashboard (initiator = their approver id) never counts, whatever key they use', () => {
    expect(approverCounts(action, approver(null), 'sec_b', 'key_b')).toBe(false)
    expect(approverCounts(action, approver('key_b'), 'sec_b', 'key_b')).toBe(false)
    expect(approverCounts(action, approver(null), 'sec_a', 'key_b')).toBe(true)
  })
  it('needs the role', () => {
    expect(approverCounts(action, approver(null, ['auditor']), 'key_a', 'key_b')).toBe(false)
  })
})

describe('scaled amounts', () => {
  it('puts 6 and 18 decimals on one scale', () => {
    expect(scaledAmount(1_000_000n, 6)).toBe(token(1n))
    expect(scaledAmount(token(1n), 18)).toBe(token(1n))
  })
})
