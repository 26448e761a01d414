import { describe, expect, it } from 'vitest'
import { canRefund } from '../invoices/invoice.state.ts'
import type { InvoiceException, InvoiceStatus } from '../invoices/invoice.types.ts'
import {
  checkDestination,
  hashLinkToken,
  invoiceRefundable,
  refundableMinor,
  refundHoldsMoney,
  refundStatusAt,
  splitReservation,
} from './refund.rules.ts'

const statuses: InvoiceStatus[] = ['new', 'processing', 'settled', 'expired', 'invalid']
const exceptions: InvoiceException[] = ['none', 'paid_partial', 'paid_over', 'paid_late', 'marked']

describe('which invoices can be refunded', () => {
  it('is exactly the invoices module’s canRefund, over every state', () => {
    for (const status of statuses)
      for (const exception of exceptions)
        expect(invoiceRefundable({ status, exception }), `${status}/${exception}`).toBe(
          canRefund({ status, exception }),
        )
  })

  it('refuses invoices still being paid and reorged ones; takes settled, partial-expired, marked', () => {
    expect(invoiceRefundable({ status: 'new', exception: 'paid_partial' })).toBe(false)
    expect(invoiceRefundable({ status: 'processing', exception: 'none' })).toBe(false)
    expect(invoiceRefundable({ status: 'invalid', exception: 'none' })).toBe(false)
    expect(invoiceRefundable({ status: 'expired', exception: 'none' })).toBe(false)
    expect(invoiceRefundable({ status: 'settled', exception: 'paid_late' })).toBe(true)
    expect(invoiceRefundable({ status: 'expired', exception: 'paid_partial' })).toBe(true)
    expect(invoiceRefundable({ status: 'invalid', exception: 'marked' })).toBe(true)
  })
})

describe('how much, from where', () => {
  it.each([
    [10_000_000n, 0n, 10_000_000n],
    [10_000_000n, 4_000_000n, 6_000_000n],
    [10_000_000n, 10_000_000n, 0n],
    [10_000_000n, 10_000_001n, 0n],
  ])('paid %s, refunded %s: %s refundable', (paid, refunded, refundable) => {
    expect(refundableMinor(paid, refunded)).toBe(refundable)
  })

  it.each([
    [3_000_000n, 2_500_000n, 2_500_000n, 500_000n],
    [1_000_000n, 2_500_000n, 1_000_000n, 0n],
    [1_000_000n, 0n, 0n, 1_000_000n],
    [1_000_000n, -5n, 0n, 1_000_000n],
    [2_500_000n, 2_500_000n, 2_500_000n, 0n],
  ])('amount %s with buyer credit %s: %s from the credit, %s from the store', (amount, credit, a, b) => {
    expect(splitReservation(amount, credit)).toEqual({ fromBuyerCredit: a, fromMerchantBalance: b })
  })

  it('expires awaiting refunds at expires_at, never cancelled ones; only awaiting ones hold money', () => {
    const at = new Date('2026-01-31T00:00:00Z')
    const before = new Date(at.getTime() - 1)
    expect(refundStatusAt('awaiting_destination', at, before)).toBe('awaiting_destination')
    expect(refundStatusAt('awaiting_payout', at, at)).toBe('expired')
    expect(refundStatusAt('cancelled', at, at)).toBe('cancelled')
    // The payout holds its own reservation: the refund's expiry no longer applies.
    expect(refundStatusAt('payout_requested', at, at)).toBe('payout_requested')
    expect(refundHoldsMoney('payout_requested')).toBe(true)
    expect(['awaiting_destination', 'awaiting_payout'].every((s) => refundHoldsMoney(s as never))).toBe(true)
    expect(refundHoldsMoney('cancelled')).toBe(false)
    expect(refundHoldsMoney('expired')).toBe(false)
  })
})

describe('the buyer’s destination', () => {
  const checksummed = '0x52908400098527886E0F7030069857D2E4169EE7'

  it('takes an EIP-55 address and an all-lowercase one, and answers the checksummed form', () => {
    expect(checkDestination(checksummed)).toBe(checksummed)
    expect(checkDestination(checksummed.toLowerCase())).toBe(checksummed)
  })

  it.each([
    ['a broken checksum', '0x52908400098527886E0F7030069857D2E4169Ee7'],
    ['all-uppercase hex', '0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED'],
    ['a Tron address', 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8'],
    ['the zero address', '0x0000000000000000000000000000000000000000'],
    ['too short', '0x52908400098527886E0F7030069857D2E4169EE'],
    ['no 0x', '52908400098527886E0F7030069857D2E4169EE7'],
    ['an ENS name', 'vitalik.eth'],
    ['surrounding spaces', ` ${checksummed}`],
    ['a Solana address', '7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV'],
  ])('refuses %s as destination-invalid at body.address', (_case, address) => {
    try {
      checkDestination(address)
      expect.unreachable('accepted')
    } catch (error) {
      expect(error).toMatchObject({ code: 'destination-invalid', httpStatus: 422 })
      expect((error as { details: { path: string }[] }).details[0]?.path).toBe('body.address')
    }
  })

  it('hashes link tokens to 32 bytes, the same token to the same hash', () => {
    expect(hashLinkToken('a'.repeat(43))).toHaveLength(32)
    expect(hashLinkToken('x').equals(hashLinkToken('x'))).toBe(true)
    expect(hashLinkToken('x').equals(hashLinkToken('y'))).toBe(false)
  })
})
