import { describe, expect, it } from 'vitest'
import { canTransition, holdsReservation, isTerminal, type PayoutEvent, transition } from './payout.state.ts'
import { type PayoutStatus, payoutStatuses } from './payout.types.ts'

// Every (status, event) pair: the legal ones and where they lead; every other pair is refused.
const legal: readonly [PayoutStatus, PayoutEvent, PayoutStatus][] = [
  ['requested', 'needs-approval', 'pending_approval'],
  ['requested', 'allowed', 'approved'],
  ['requested', 'blocked', 'blocked'],
  ['requested', 'cancel', 'cancelled'],
  ['pending_approval', 'approved', 'approved'],
  ['pending_approval', 'rejected', 'cancelled'],
  ['pending_approval', 'blocked', 'blocked'],
  ['pending_approval', 'cancel', 'cancelled'],
  ['approved', 'delay', 'delayed'],
  ['approved', 'queue', 'queued'],
  ['approved', 'blocked', 'blocked'],
  ['approved', 'cancel', 'cancelled'],
  ['delayed', 'delay-elapsed', 'queued'],
  ['delayed', 'blocked', 'blocked'],
  ['delayed', 'cancel', 'cancelled'],
  ['queued', 'signed', 'broadcast'],
  ['queued', 'blocked', 'blocked'],
  ['queued', 'failed', 'failed'],
  ['queued', 'cancel', 'cancelled'],
  ['broadcast', 'included', 'confirmed'],
  ['broadcast', 'failed', 'failed'],
  ['confirmed', 'final', 'finalized'],
  ['confirmed', 'failed', 'failed'],
]
const events: readonly PayoutEvent[] = [
  'needs-approval',
  'allowed',
  'blocked',
  'approved',
  'rejected',
  'delay',
  'queue',
  'delay-elapsed',
  'signed',
  'included',
  'final',
  'failed',
  'cancel',
]
const order = (status: PayoutStatus) => payoutStatuses.indexOf(status)

describe('payout state machine', () => {
  it.each(legal)('%s --%s--> %s', (from, event, to) => {
    expect(canTransition(from, event)).toBe(true)
    expect(transition(from, event)).toBe(to)
  })

  it('refuses every other pair', () => {
    for (const status of payoutStatuses) {
      for (const event of events) {
        const isLegal = legal.some(([from, on]) => from === status && on === event)
        expect(canTransition(status, event), `${status} ${event}`).toBe(isLegal)
        if (!isLegal) expect(() => transition(status, event)).toThrow(/illegal/)
      }
    }
  })

  it('never moves back: every transition goes to a later status', () => {
    for (const [from, , to] of legal) expect(order(to)).toBeGreaterThan(order(from))
  })

  it('terminal statuses have no way out, and do not hold the reservation', () => {
    for (const status of payoutStatuses.filter(isTerminal)) {
      expect(events.some((event) => canTransition(status, event))).toBe(false)
      expect(holdsReservation(status)).toBe(false)
    }
    expect(payoutStatuses.filter(isTerminal)).toEqual(['finalized', 'failed', 'cancelled', 'blocked'])
  })

  it('a signed payout can no longer be cancelled', () => {
    for (const status of ['broadcast', 'confirmed'] as const)
      expect(canTransition(status, 'cancel')).toBe(false)
  })
})
