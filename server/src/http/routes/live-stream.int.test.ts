import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { withTransaction } from '../../db/tx.ts'
import { createLogger } from '../../lib/logger.ts'
import { recordEvent } from '../../modules/events/event.service.ts'
import type { StoredEvent } from '../../modules/events/event.types.ts'
import { createMerchant } from '../../modules/merchants/merchant.service.ts'
import { LiveEventHub, liveStreamLimits } from './live-stream.ts'

// The live hub on a real PostgreSQL: it delivers what the outbox holds after commit, woken by NOTIFY
// (well before its fallback read), and never a rolled-back event.
let database: TestDatabase
let hub: LiveEventHub
let merchantId = ''

beforeAll(async () => {
  database = await createTestDatabase()
  merchantId = (await createMerchant(database.pool, { name: 'Live Store' })).merchant.id
  hub = new LiveEventHub(database.pool, createLogger('silent'))
})

afterAll(async () => {
  await hub?.close()
  await database?.drop()
})

const record = (subjectId: string) =>
  withTransaction(database.pool, async (client) =>
    recordEvent(client, {
      type: 'invoice.expired',
      merchantId,
      subjectId,
      payload: { invoice_id: subjectId },
    }),
  )

describe('live event hub', () => {
  it('delivers a committed outbox event to the matching subscriber within a NOTIFY wake, not a timer', async () => {
    const delivered: StoredEvent[] = []
    const other: StoredEvent[] = []
    const unsubscribe = await hub.subscribe({
      matches: (event) => event.subjectId === 'inv_live_a',
      deliver: async (events) => void delivered.push(...events),
      end: () => {},
    })
    const unsubscribeOther = await hub.subscribe({
      matches: (event) => event.subjectId === 'inv_live_b',
      deliver: async (events) => void other.push(...events),
      end: () => {},
    })
    const started = Date.now()
    const event = await record('inv_live_a')
    await expect
      .poll(() => delivered.map((item) => item.id), { timeout: 10_000, interval: 20 })
      .toEqual([event.id])
    expect(Date.now() - started).toBeLessThan(liveStreamLimits.fallbackReadMs)
    expect(other).toEqual([])

    // A rolled-back event never reaches anyone, and a later read does not deliver the first one twice.
    await withTransaction(database.pool, async (client) => {
      await recordEvent(client, { type: 'invoice.expired', merchantId, subjectId: 'inv_live_a', payload: {} })
      throw new Error('roll back')
    }).catch(() => {})
    const second = await record('inv_live_b')
    await expect
      .poll(() => other.map((item) => item.id), { timeout: 10_000, interval: 20 })
      .toEqual([second.id])
    expect(delivered.map((item) => item.id)).toEqual([event.id])
    unsubscribe()
    unsubscribeOther()
  })

  it('ends every open stream when it closes', async () => {
    let ended = 0
    await hub.subscribe({
      matches: () => false,
      deliver: async () => {},
      end: () => {
        ended += 1
      },
    })
    await hub.subscribe({
      matches: () => false,
      deliver: async () => {},
      end: () => {
        ended += 1
      },
    })
    await hub.close()
    expect(ended).toBe(2)
    expect(hub.size).toBe(0)
  })
})
