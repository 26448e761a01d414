import { describe, expect, it } from 'vitest'
import { AssertionFailure } from '../../lib/assert.ts'
import { eventLimits } from './event.limits.ts'
import { serializeEventPayload, toStreamMessage, toWebhookEnvelope } from './event.service.ts'
import type { EventPayload, StoredEvent } from './event.types.ts'
import { eventTypes } from './event.types.ts'

describe('event payloads', () => {
  it('serialise JSON with amounts as strings', () => {
    const payload = { payment_id: 'pay_1', amount: '1000000', confirmations: 12, nested: { fee_amount: '5' } }
    expect(JSON.parse(serializeEventPayload(payload))).toEqual(payload)
  })

  it('refuse amounts, fees and balances as JSON numbers, at any depth', () => {
    for (const payload of [
      { amount: 1 },
      { nested: { fee: 0.5 } },
      { items: [{ balance: 3 }] },
      { amountPaid: 2 },
    ]) {
      expect(() => serializeEventPayload(payload as EventPayload), JSON.stringify(payload)).toThrow(
        AssertionFailure,
      )
    }
  })

  it('refuse what JSON cannot carry faithfully', () => {
    for (const payload of [{ amount: 1n }, { when: undefined }, { ratio: Number.NaN }, { f: () => 1 }]) {
      expect(() => serializeEventPayload(payload as unknown as EventPayload)).toThrow(AssertionFailure)
    }
  })

  it('accept payloadBytesMax bytes and refuse one more', () => {
    const overhead = JSON.stringify({ note: '' }).length
    const atMax = { note: 'x'.repeat(eventLimits.payloadBytesMax - overhead) }
    expect(serializeEventPayload(atMax)).toHaveLength(eventLimits.payloadBytesMax)
    expect(() => serializeEventPayload({ note: `${atMax.note}x` })).toThrow(AssertionFailure)
  })

  it('accept payloadDepthMax levels of nesting and refuse deeper', () => {
    const nest = (levels: number): EventPayload =>
      levels === 0 ? { leaf: true } : { next: nest(levels - 1) }
    expect(() => serializeEventPayload(nest(eventLimits.payloadDepthMax - 1))).not.toThrow()
    expect(() => serializeEventPayload(nest(eventLimits.payloadDepthMax + 1))).toThrow(AssertionFailure)
  })
})

describe('event types', () => {
  it('are unique, noun.verb, and fit the events table check', () => {
    expect(new Set(eventTypes).size).toBe(eventTypes.length)
    for (const type of eventTypes) expect(type).toMatch(/^[a-z_]+\.[a-z_]+$/)
  })
})

describe('envelopes', () => {
  const event: StoredEvent = {
    id: 'evt_01',
    sequence: '42',
    type: 'payment.finalized',
    merchantId: 'mer_1',
    subjectId: 'pay_1',
    payload: { amount: '1' },
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
  }
  it('give webhooks { id, type, created_at, data }', () => {
    expect(toWebhookEnvelope(event)).toEqual({
      id: 'evt_01',
      type: 'payment.finalized',
      created_at: '2026-01-02T03:04:05.678Z',
      data: { amount: '1' },
    })
  })
  it('give the stream the envelope plus routing fields', () => {
    expect(toStreamMessage(event)).toMatchObject({
      id: 'evt_01',
      sequence: '42',
      merchant_id: 'mer_1',
      subject_id: 'pay_1',
    })
  })
})
