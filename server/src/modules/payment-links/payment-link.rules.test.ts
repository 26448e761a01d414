import { describe, expect, it } from 'vitest'
import {
  amountMaxMinor,
  buyerAmount,
  linkPricing,
  linkStatus,
  parseLinkAmount,
} from './payment-link.rules.ts'
import type { PaymentLink } from './payment-link.types.ts'

const now = new Date('2026-03-01T12:00:00Z')

function link(overrides: Partial<PaymentLink> = {}): PaymentLink {
  return {
    id: 'lnk_01J0000000000000000000000A',
    merchantId: 'mer_x',
    currency: 'USDT',
    amountDecimals: 6,
    amount: null,
    amountMin: 1_000_000n,
    amountMax: 100_000_000n,
    networks: null,
    description: null,
    redirectUrl: null,
    oneTime: false,
    invoiceId: null,
    expiresAt: null,
    deactivatedAt: null,
    createdAt: now,
    ...overrides,
  }
}

function codeAndPath(work: () => unknown): [string, string | undefined] {
  try {
    work()
  } catch (error) {
    const { code, details } = error as { code: string; details: { path: string }[] }
    return [code, details[0]?.path]
  }
  throw new Error('expected a refusal')
}

describe('link status', () => {
  it('is deactivated once deactivated, expired from expires_at on, active otherwise', () => {
    expect(linkStatus(link(), now)).toBe('active')
    expect(linkStatus(link({ expiresAt: new Date(now.getTime() + 1) }), now)).toBe('active')
    expect(linkStatus(link({ expiresAt: now }), now)).toBe('expired')
    expect(linkStatus(link({ expiresAt: now, deactivatedAt: now }), now)).toBe('deactivated')
  })
})

describe('pricing a link', () => {
  it('takes a fixed amount alone, or bounds that default to one unit and the invoice maximum', () => {
    expect(linkPricing({ amount: '12.5' }, 6)).toEqual({
      amount: 12_500_000n,
      amountMin: null,
      amountMax: null,
    })
    expect(linkPricing({}, 2)).toEqual({ amount: null, amountMin: 1n, amountMax: amountMaxMinor(2) })
    expect(linkPricing({ amountMin: '1', amountMax: '1' }, 6)).toEqual({
      amount: null,
      amountMin: 1_000_000n,
      amountMax: 1_000_000n,
    })
  })

  it.each([
    ['amount with bounds', { amount: '1', amountMin: '1' }, 'amount-bounds-invalid', 'body.amount_min'],
    ['min above max', { amountMin: '2', amountMax: '1.999999' }, 'amount-bounds-invalid', 'body.amount_max'],
    ['excess decimals', { amount: '1.0000001' }, 'amount-precision-exceeded', 'body.amount'],
    ['a zero bound', { amountMin: '0' }, 'amount-not-positive', 'body.amount_min'],
    ['above the invoice maximum', { amountMax: '100000000.000001' }, 'amount-too-large', 'body.amount_max'],
  ])('refuses %s', (_case, input, code, path) => {
    expect(codeAndPath(() => linkPricing(input, 6))).toEqual([code, path])
  })

  it('accepts exactly the invoice maximum', () => {
    expect(parseLinkAmount('100000000', 6, 'body.amount')).toBe(amountMaxMinor(6))
  })
})

describe('the buyer’s amount', () => {
  it('is the fixed price, and a fixed link takes none', () => {
    expect(buyerAmount(link({ amount: 5_000_000n, amountMin: null, amountMax: null }), undefined)).toBe(
      5_000_000n,
    )
    expect(codeAndPath(() => buyerAmount(link({ amount: 5_000_000n }), '5'))).toEqual([
      'amount-fixed',
      'body.amount',
    ])
  })

  it('must be within [min, max], checked to one minor unit on both sides', () => {
    const bounded = link()
    expect(buyerAmount(bounded, '1')).toBe(1_000_000n)
    expect(buyerAmount(bounded, '100')).toBe(100_000_000n)
    expect(codeAndPath(() => buyerAmount(bounded, '0.999999'))).toEqual([
      'amount-out-of-bounds',
      'body.amount',
    ])
    expect(codeAndPath(() => buyerAmount(bounded, '100.000001'))).toEqual([
      'amount-out-of-bounds',
      'body.amount',
    ])
  })

  it('is required, and refused with more decimals than the link counts in', () => {
    expect(codeAndPath(() => buyerAmount(link(), undefined))).toEqual(['amount-required', 'body.amount'])
    expect(codeAndPath(() => buyerAmount(link(), '1.0000001'))).toEqual([
      'amount-precision-exceeded',
      'body.amount',
    ])
    expect(codeAndPath(() => buyerAmount(link({ amountDecimals: 2, amountMin: 1n }), '1.001'))).toEqual([
      'amount-precision-exceeded',
      'body.amount',
    ])
  })
})
