import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { createPool } from '../../db/pool.ts'
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

  it('leaves its listening connection to the pool once closed: an error on it later throws nothing', async () => {
    const own = new LiveEventHub(database.pool, createLogger('silent'))
    const unsubscribe = await own.subscribe({ matches: () => false, deliver: async () => {}, end: () => {} })
    const listening = await database.pool.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = current_database() and query = 'listen sluice_jobs'",
    )
    unsubscribe()
    await own.close()
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown) => uncaught.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      // The connection the hub gave back breaks while idle in the pool (a restart, a dropped database).
      // From a connection of its own: the pool would hand out the very connection to be terminated.
      const admin = createPool(database.url, { sizeMax: 1 })
      try {
        for (const { pid } of listening.rows) await admin.query('select pg_terminate_backend($1)', [pid])
      } finally {
        await admin.end()
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    expect(listening.rows.length).toBeGreaterThan(0)
    expect(uncaught).toEqual([])
    expect(await database.pool.query('select 1 as one')).toMatchObject({ rows: [{ one: 1 }] })
  })
})
