import { assert } from '../../lib/assert.ts'
import type { PayoutStatus } from './payout.types.ts'

/**
 * The payout state machine, pure. Statuses only move forward: nothing here leads from a sent status back
 * to one that could sign again (BTCPay's double-payment lesson: an automatic InProgress → AwaitingPayment
 * regression paid twice). A reorg that removes an included payout keeps it `confirmed` and re-broadcasts
 * the same signed bytes; it never re-opens the payout.
 */
export type PayoutEvent =
  /** The policy wants approvals. */
  | 'needs-approval'
  /** The policy allows the payout without approvals. */
  | 'allowed'
  /** The policy, the destination screening or a panic rule refuses it for good. */
  | 'blocked'
  /** The approval quorum is reached. */
  | 'approved'
  /** An approver rejected it. */
  | 'rejected'
  /** The policy delays execution; cancellable until it elapses. */
  | 'delay'
  /** Ready for the transaction manager. */
  | 'queue'
  /** The delay elapsed. */
  | 'delay-elapsed'
  /** Signed and stored with its nonce; it is broadcast from now on until it resolves. */
  | 'signed'
  /** A receipt of one of its transactions exists. */
  | 'included'
  /** That receipt satisfies the network's finality rule and shows the planned Transfer. */
  | 'final'
  /** It cannot be sent (gas estimate reverts) or it moved nothing on chain. */
  | 'failed'
  /** The merchant cancelled it before it was signed. */
  | 'cancel'

const transitions: Readonly<
  Record<PayoutEvent, Readonly<{ from: readonly PayoutStatus[]; to: PayoutStatus }>>
> = {
  'needs-approval': { from: ['requested'], to: 'pending_approval' },
  allowed: { from: ['requested'], to: 'approved' },
  blocked: { from: ['requested', 'pending_approval', 'approved', 'delayed', 'queued'], to: 'blocked' },
  approved: { from: ['pending_approval'], to: 'approved' },
  rejected: { from: ['pending_approval'], to: 'cancelled' },
  delay: { from: ['approved'], to: 'delayed' },
  queue: { from: ['approved'], to: 'queued' },
  'delay-elapsed': { from: ['delayed'], to: 'queued' },
  signed: { from: ['queued'], to: 'broadcast' },
  included: { from: ['broadcast'], to: 'confirmed' },
  final: { from: ['confirmed'], to: 'finalized' },
  failed: { from: ['queued', 'broadcast', 'confirmed'], to: 'failed' },
  cancel: { from: ['requested', 'pending_approval', 'approved', 'delayed', 'queued'], to: 'cancelled' },
}

export function canTransition(status: PayoutStatus, event: PayoutEvent): boolean {
  return transitions[event].from.includes(status)
}

/** The status after `event`; callers check `canTransition` first, so an illegal pair is a bug. */
export function transition(status: PayoutStatus, event: PayoutEvent): PayoutStatus {
  assert(canTransition(status, event), `payout event ${event} is illegal in status ${status}`)
  return transitions[event].to
}

export function isTerminal(status: PayoutStatus): boolean {
  return status === 'finalized' || status === 'failed' || status === 'cancelled' || status === 'blocked'
}

/** Statuses whose reservation is still held (not posted, not voided). */
export function holdsReservation(status: PayoutStatus): boolean {
  return !isTerminal(status)
}

/** Signed: a transaction with its nonce exists, so cancelling could no longer stop the money. */
export function isSigned(status: PayoutStatus): boolean {
  return status === 'broadcast' || status === 'confirmed' || status === 'finalized'
}
