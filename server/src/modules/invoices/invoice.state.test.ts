import { describe, expect, it } from 'vitest'
import { applyMark, canMark, canRefund, evaluateInvoice, eventsForChange, meetsDue } from './invoice.state.ts'
import type { InvoiceFacts, InvoiceState } from './invoice.types.ts'

const due = 100_000_000n
const minute = 60_000
const base: InvoiceFacts = {
  dueValue: due,
  seenValue: 0n,
  finalValue: 0n,
  anyLate: false,
  anyPending: false,
  toleranceBasisPoints: 0,
  nowMs: 0,
  expiresAtMs: 15 * minute,
  monitoringUntilMs: 24 * 60 * minute,
}
const state = (
  status: InvoiceState['status'],
  exception: InvoiceState['exception'] = 'none',
): InvoiceState => ({ status, exception })

describe('evaluateInvoice', () => {
  it.each<[string, InvoiceState, Partial<InvoiceFacts>, InvoiceState]>([
    ['nothing paid, before expiry', state('new'), {}, state('new')],
    [
      'partial seen before expiry',
      state('new'),
      { seenValue: 40_000_000n, anyPending: true },
      state('new', 'paid_partial'),
    ],
    [
      'two partials adding up, still pending',
      state('new', 'paid_partial'),
      { seenValue: due, finalValue: 40_000_000n, anyPending: true },
      state('processing'),
    ],
    ['exact payment final', state('processing'), { seenValue: due, finalValue: due }, state('settled')],
    [
      'exact payment already final when first seen',
      state('new'),
      { seenValue: due, finalValue: due },
      state('settled'),
    ],
    [
      'one unit short, no tolerance',
      state('processing'),
      { seenValue: due - 1n, finalValue: due - 1n },
      state('new', 'paid_partial'),
    ],
    [
      'within 1 % tolerance',
      state('processing'),
      { seenValue: 99_000_000n, finalValue: 99_000_000n, toleranceBasisPoints: 100 },
      state('settled'),
    ],
    [
      'one unit below the tolerance',
      state('processing'),
      { seenValue: 98_999_999n, finalValue: 98_999_999n, toleranceBasisPoints: 100 },
      state('new', 'paid_partial'),
    ],
    [
      'overpaid and final',
      state('processing'),
      { seenValue: due + 1n, finalValue: due + 1n },
      state('settled', 'paid_over'),
    ],
    [
      'overpaid, pending',
      state('new'),
      { seenValue: due + 1n, anyPending: true },
      state('processing', 'paid_over'),
    ],
    ['expiry with nothing paid', state('new'), { nowMs: 15 * minute }, state('expired')],
    ['one ms before expiry', state('new'), { nowMs: 15 * minute - 1 }, state('new')],
    [
      'expiry with a partial',
      state('new', 'paid_partial'),
      { nowMs: 15 * minute, seenValue: 1n, finalValue: 1n },
      state('expired', 'paid_partial'),
    ],
    [
      'late full payment, pending',
      state('expired'),
      { nowMs: 20 * minute, seenValue: due, anyLate: true, anyPending: true },
      state('processing', 'paid_late'),
    ],
    [
      'late full payment, final',
      state('processing', 'paid_late'),
      { nowMs: 21 * minute, seenValue: due, finalValue: due, anyLate: true },
      state('settled', 'paid_late'),
    ],
    ['payment orphaned while processing', state('processing'), { nowMs: minute }, state('new')],
    [
      'orphaned, after expiry, inside monitoring',
      state('processing'),
      { nowMs: 30 * minute },
      state('processing'),
    ],
    ['orphaned and monitoring over', state('processing'), { nowMs: 24 * 60 * minute }, state('invalid')],
    [
      'full but never final by monitoring end',
      state('processing'),
      { nowMs: 24 * 60 * minute, seenValue: due, anyPending: true },
      state('invalid'),
    ],
    [
      'settled stays settled when later facts look thin',
      state('settled'),
      { seenValue: 0n },
      state('settled'),
    ],
    [
      'settled then paid again: paid_over',
      state('settled'),
      { seenValue: due * 2n, finalValue: due * 2n },
      state('settled', 'paid_over'),
    ],
    [
      'marked never changes by itself',
      state('settled', 'marked'),
      { nowMs: 24 * 60 * minute },
      state('settled', 'marked'),
    ],
    ['invalid is terminal', state('invalid'), { seenValue: due, finalValue: due }, state('invalid')],
  ])('%s', (_case, previous, facts, expected) => {
    expect(evaluateInvoice(previous, { ...base, ...facts })).toEqual(expected)
  })
})

describe('eventsForChange', () => {
  it('announces the exception before the status', () => {
    expect(eventsForChange(state('new'), state('processing', 'paid_over'))).toEqual([
      'invoice.paid_over',
      'invoice.processing',
    ])
    expect(eventsForChange(state('expired'), state('processing', 'paid_late'))).toEqual([
      'invoice.paid_late',
      'invoice.processing',
    ])
    expect(eventsForChange(state('new'), state('new', 'paid_partial'))).toEqual(['invoice.paid_partial'])
    expect(eventsForChange(state('processing'), state('settled'))).toEqual(['invoice.settled'])
    expect(eventsForChange(state('new'), state('settled'))).toEqual(['invoice.settled'])
    expect(eventsForChange(state('new'), state('new'))).toEqual([])
  })
})

describe('marks and refunds', () => {
  it('allows marking settled only from expired, invalid or new; invalid from live or settled states', () => {
    expect(canMark(state('expired', 'paid_partial'), 'settled')).toBe(true)
    expect(canMark(state('settled'), 'settled')).toBe(false)
    expect(canMark(state('settled'), 'invalid')).toBe(true)
    expect(canMark(state('invalid'), 'invalid')).toBe(false)
    expect(applyMark(state('expired'), 'settled')).toEqual(state('settled', 'marked'))
  })

  it('allows refunds on settled invoices and on expired ones holding money', () => {
    expect(canRefund(state('settled', 'paid_over'))).toBe(true)
    expect(canRefund(state('expired', 'paid_partial'))).toBe(true)
    expect(canRefund(state('expired'))).toBe(false)
    expect(canRefund(state('new'))).toBe(false)
  })

  it('compares with the tolerance exactly, in integers', () => {
    expect(meetsDue(9_950n, 10_000n, 50)).toBe(true)
    expect(meetsDue(9_949n, 10_000n, 50)).toBe(false)
  })
})
