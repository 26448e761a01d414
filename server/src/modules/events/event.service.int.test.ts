import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { eventLimits } from './event.limits.ts'
import { dispatchEventJobKind, getEvent, recordEvent, recordTestEvent } from './event.service.ts'

let database: TestDatabase
let pool: Pool

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
})
afterAll(async () => {
  await database.drop()
})

async function jobFor(eventId: string) {
  const result = await pool.query<{ kind: string; payload: unknown; attempts_max: number }>(
    'select kind, payload, attempts_max from jobs where dedupe_key = $1',
    [eventId],
  )
  return result.rows
}

describe('recordEvent', () => {
  it('writes the event and one dispatch-event job (dedupe key = event id) in the same transaction', async () => {
    const event = await withTransaction(pool, (client) =>
      recordEvent(client, {
        type: 'payment.finalized',
        merchantId: null,
        subjectId: 'pay_1',
        payload: { amount: '1000000', confirmations: 12 },
      }),
    )
    expect(event.id).toMatch(/^evt_/)
    expect(await getEvent(pool, event.id)).toEqual(event)
    expect(event.payload).toEqual({ amount: '1000000', confirmations: 12 })
    expect(await jobFor(event.id)).toEqual([
      {
        kind: dispatchEventJobKind,
        payload: { eventId: event.id },
        attempts_max: eventLimits.dispatchAttemptsMax,
      },
    ])
  })

  it('leaves neither event nor job when the transaction rolls back', async () => {
    let eventId = ''
    await expect(
      withTransaction(pool, async (client) => {
        eventId = (
          await recordEvent(client, {
            type: 'invoice.expired',
            merchantId: null,
            subjectId: null,
            payload: {},
          })
        ).id
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(await getEvent(pool, eventId)).toBeUndefined()
    expect(await jobFor(eventId)).toEqual([])
  })

  it('writes event and job together even without a transaction (one statement)', async () => {
    const event = await recordEvent(pool, {
      type: 'refund.opened',
      merchantId: null,
      subjectId: null,
      payload: {},
    })
    expect(await jobFor(event.id)).toHaveLength(1)
  })

  it('keeps events immutable', async () => {
    const event = await recordEvent(pool, {
      type: 'payout.sent',
      merchantId: null,
      subjectId: null,
      payload: {},
    })
    await expect(pool.query("update events set payload = '{}' where id = $1", [event.id])).rejects.toThrow(
      /immutable/,
    )
    await expect(pool.query('delete from events where id = $1', [event.id])).rejects.toThrow(/immutable/)
  })

  it('orders events by sequence in commit-insert order', async () => {
    const first = await recordEvent(pool, {
      type: 'payout.sent',
      merchantId: null,
      subjectId: null,
      payload: {},
    })
    const second = await recordEvent(pool, {
      type: 'payout.failed',
      merchantId: null,
      subjectId: null,
      payload: {},
    })
    expect(BigInt(second.sequence)).toBeGreaterThan(BigInt(first.sequence))
  })
})

describe('recordTestEvent', () => {
  it('writes a webhook.test event with no dispatch job', async () => {
    const merchant = await pool.query<{ id: string }>(
      "insert into merchants (id, name) values ('mer_events_test', 'events') returning id",
    )
    const merchantId = merchant.rows[0]?.id ?? ''
    const event = await recordTestEvent(pool, { merchantId, subjectId: 'whk_1', payload: { message: 'hi' } })
    expect(event.type).toBe('webhook.test')
    expect(await jobFor(event.id)).toEqual([])
  })
})
