import { assert } from '../../lib/assert.ts'
import type {
  InvoiceEventType,
  InvoiceException,
  InvoiceFacts,
  InvoiceState,
  InvoiceStatus,
  ManualMark,
} from './invoice.types.ts'

/** Paid "in full" within the underpayment tolerance: seen × 10,000 ≥ due × (10,000 − tolerance), exactly. */
export function meetsDue(paidValue: bigint, dueValue: bigint, toleranceBasisPoints: number): boolean {
  return paidValue * 10_000n >= dueValue * (10_000n - BigInt(toleranceBasisPoints))
}

function exceptionWhenPaid(facts: InvoiceFacts, paid: bigint): InvoiceException {
  if (facts.anyLate) return 'paid_late'
  return paid > facts.dueValue ? 'paid_over' : 'none'
}

function unpaidState(facts: InvoiceFacts, previous: InvoiceStatus): InvoiceState {
  const exception: InvoiceException = facts.seenValue > 0n ? 'paid_partial' : 'none'
  if (facts.nowMs < facts.expiresAtMs) return { status: 'new', exception }
  // A processing invoice whose payments vanished (reorg) and never came back by the end of monitoring.
  if (previous === 'processing' && facts.nowMs >= facts.monitoringUntilMs)
    return { status: 'invalid', exception }
  return {
    status: previous === 'processing' && facts.nowMs < facts.monitoringUntilMs ? 'processing' : 'expired',
    exception,
  }
}

/**
 * The invoice's state for the facts at hand — a pure function, so every rule has a row in the test
 * table. Marked invoices never change by themselves; a settled invoice stays settled (final payments
 * cannot be reverted) but can still become paid_over.
 */
export function evaluateInvoice(previous: InvoiceState, facts: InvoiceFacts): InvoiceState {
  if (previous.exception === 'marked' || previous.status === 'invalid') return previous
  if (previous.status === 'settled') {
    const over = facts.finalValue > facts.dueValue && previous.exception === 'none'
    return over ? { status: 'settled', exception: 'paid_over' } : previous
  }
  if (meetsDue(facts.finalValue, facts.dueValue, facts.toleranceBasisPoints) && !facts.anyPending) {
    return { status: 'settled', exception: exceptionWhenPaid(facts, facts.finalValue) }
  }
  if (meetsDue(facts.seenValue, facts.dueValue, facts.toleranceBasisPoints)) {
    if (facts.nowMs >= facts.monitoringUntilMs && facts.anyPending)
      return { status: 'invalid', exception: 'none' }
    return { status: 'processing', exception: exceptionWhenPaid(facts, facts.seenValue) }
  }
  return unpaidState(facts, previous.status)
}

/** The events a change of state announces, in order. */
export function eventsForChange(previous: InvoiceState, next: InvoiceState): InvoiceEventType[] {
  const events: InvoiceEventType[] = []
  if (next.exception !== previous.exception) {
    if (next.exception === 'paid_partial') events.push('invoice.paid_partial')
    if (next.exception === 'paid_over') events.push('invoice.paid_over')
    if (next.exception === 'paid_late') events.push('invoice.paid_late')
  }
  if (next.status !== previous.status) {
    const byStatus: Partial<Record<InvoiceStatus, InvoiceEventType>> = {
      processing: 'invoice.processing',
      settled: 'invoice.settled',
      expired: 'invoice.expired',
      invalid: 'invoice.invalid',
    }
    const event = byStatus[next.status]
    if (event !== undefined) events.push(event)
  }
  return events
}

/** Operator marks (audited by the service): settle an expired/invalid invoice, or invalidate one. */
export function canMark(state: InvoiceState, mark: ManualMark): boolean {
  if (mark === 'settled')
    return state.status === 'expired' || state.status === 'invalid' || state.status === 'new'
  return (
    state.status === 'settled' ||
    state.status === 'expired' ||
    state.status === 'new' ||
    state.status === 'processing'
  )
}

export function applyMark(state: InvoiceState, mark: ManualMark): InvoiceState {
  assert(canMark(state, mark), `cannot mark a ${state.status} invoice ${mark}`)
  return { status: mark, exception: 'marked' }
}

/** A refund can be opened on a settled invoice, or on any invoice holding a buyer's money. */
export function canRefund(state: InvoiceState): boolean {
  return (
    state.status === 'settled' ||
    (state.status === 'expired' && state.exception !== 'none') ||
    (state.status === 'invalid' && state.exception === 'marked')
  )
}
