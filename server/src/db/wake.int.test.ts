import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { limits } from '../config/limits.ts'
import { enqueueJob } from './job-queue.ts'
import type { PoolClient } from './pool.ts'
import { withTransaction } from './tx.ts'

// Wake-ups after commit (db/wake.ts): a listener hears of a job only once it is committed, never of a
// rolled-back one, once per kind for a transaction's many jobs; business transactions send no NOTIFY.
let database: TestDatabase
let listener: PoolClient
const heard: string[] = []

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function heardWithin(count: number, ms = 2_000): Promise<string[]> {
  const started = Date.now()
  while (heard.length < count && Date.now() - started < ms) await pause(10)
  return [...heard]
}

beforeAll(async () => {
  database = await createTestDatabase()
  listener = await database.pool.connect()
  listener.on('notification', (message) => heard.push(message.payload ?? ''))
  await listener.query('listen sluice_jobs')
})

afterAll(async () => {
  listener?.release()
  await database?.drop()
})

describe('waking workers after commit', () => {
  it('wakes for a job only after its transaction commits, once per kind however many jobs', async () => {
    heard.length = 0
    await withTransaction(database.pool, async (client) => {
      for (let index = 0; index < 5; index += 1) await enqueueJob(client, 'wake-test-a', { index })
      await enqueueJob(client, 'wake-test-b', {})
      await pause(200)
      // Uncommitted: nothing to wake for yet.
      expect(heard).toEqual([])
    })
    expect((await heardWithin(2)).sort()).toEqual(['wake-test-a', 'wake-test-b'])
    await pause(100)
    expect(heard).toHaveLength(2)
  })

  it('never wakes for a rolled-back job', async () => {
    heard.length = 0
    await expect(
      withTransaction(database.pool, async (client) => {
        await enqueueJob(client, 'wake-test-rolled-back', {})
        throw new Error('rolled back on purpose')
      }),
    ).rejects.toThrow('rolled back on purpose')
    await pause(300)
    expect(heard).toEqual([])
  })

  it('wakes for a job enqueued on the pool (its own commit), and not for one due later', async () => {
    heard.length = 0
    await enqueueJob(database.pool, 'wake-test-later', {}, { runAt: new Date(Date.now() + 60_000) })
    await enqueueJob(database.pool, 'wake-test-now', {})
    expect(await heardWithin(1)).toEqual(['wake-test-now'])
    await pause(200)
    expect(heard).toEqual(['wake-test-now'])
  })

  it('sends at most one wake-up per kind per jobWakeUpIntervalMs, and one after the last commit', async () => {
    heard.length = 0
    const started = performance.now()
    for (let index = 0; index < 30; index += 1) await enqueueJob(database.pool, 'wake-test-burst', { index })
    const elapsedMs = performance.now() - started
    await pause(limits.jobWakeUpIntervalMs + 200)
    // One per commit would be 30; spaced by the interval, at most one per interval of the burst, plus
    // the one that follows the last commit.
    expect(heard.length).toBeGreaterThanOrEqual(1)
    expect(heard.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / limits.jobWakeUpIntervalMs) + 2)
    expect(new Set(heard)).toEqual(new Set(['wake-test-burst']))
  })

  it('still notifies inside a transaction it does not manage, at that commit', async () => {
    heard.length = 0
    const client = await database.pool.connect()
    try {
      await client.query('begin')
      await enqueueJob(client, 'wake-test-manual', {})
      await pause(200)
      expect(heard).toEqual([])
      await client.query('commit')
    } finally {
      client.release()
    }
    expect(await heardWithin(1)).toEqual(['wake-test-manual'])
  })

  it('sends no NOTIFY inside a business transaction (it would serialise every notifying commit)', async () => {
    heard.length = 0
    const sent: string[] = []
    await withTransaction(database.pool, async (client) => {
      const query = client.query
      client.query = ((...args: Parameters<PoolClient['query']>) => {
        const first = args[0] as unknown
        sent.push(typeof first === 'string' ? first : String((first as { text?: string }).text))
        return (query as (...values: unknown[]) => unknown).apply(client, args)
      }) as PoolClient['query']
      try {
        await enqueueJob(client, 'wake-test-no-lock', {})
      } finally {
        client.query = query
      }
    })
    expect(sent.length).toBeGreaterThan(0)
    expect(sent.some((text) => text.includes('pg_notify'))).toBe(false)
    expect(await heardWithin(1)).toEqual(['wake-test-no-lock'])
  })
})
