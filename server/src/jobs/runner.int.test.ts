import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { limits } from '../config/limits.ts'
import { enqueueJob, enqueueJobs } from '../db/job-queue.ts'
import { createLogger } from '../lib/logger.ts'
import { batchedJobHandler, type JobHandler, JobRunner, RetryLater, retryDelayMs } from './runner.ts'

const silent = createLogger('silent')
let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(async () => {
  await database.drop()
})

function runner(handlers: Record<string, JobHandler>, onFatal: (error: unknown) => void = () => {}) {
  return new JobRunner({
    pool: database.pool,
    handlers: new Map(Object.entries(handlers)),
    log: silent,
    onFatal,
    pollIntervalMs: 50,
  })
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function jobRows(kind: string) {
  const result = await database.pool.query<{ status: string; attempts: number; last_error: string | null }>(
    'select status, attempts, last_error from jobs where kind = $1',
    [kind],
  )
  return result.rows
}

describe('job runner', () => {
  it('runs a job enqueued in a committed transaction and deletes it', async () => {
    const seen: unknown[] = []
    const worker = runner({ 'record-payload': async (job) => void seen.push(job.payload) })
    await worker.start()
    await enqueueJob(database.pool, 'record-payload', { n: 1 })
    await until(async () => seen.length === 1)
    await until(async () => (await jobRows('record-payload')).length === 0)
    await worker.stop()
    expect(seen).toEqual([{ n: 1 }])
  })

  it('never runs a job whose transaction rolled back', async () => {
    const client = await database.pool.connect()
    await client.query('begin')
    await enqueueJob(client, 'rolled-back', {})
    await client.query('rollback')
    client.release()
    expect(await jobRows('rolled-back')).toEqual([])
  })

  it('drains on stop: a running job finishes before stop() resolves', async () => {
    let finished = false
    const worker = runner({
      slow: async () => {
        await new Promise((resolve) => setTimeout(resolve, 400))
        finished = true
      },
    })
    await worker.start()
    await enqueueJob(database.pool, 'slow', {})
    await until(async () => worker.inFlightCount === 1)
    await worker.stop()
    expect(finished).toBe(true)
    expect(await jobRows('slow')).toEqual([])
  })

  it('retries a failing job with backoff and marks it dead after attemptsMax', async () => {
    const worker = runner({
      failing: async () => {
        throw new Error('receiver down')
      },
    })
    await database.pool.query("insert into jobs (kind, attempts_max) values ('failing', 2)")
    await worker.start()
    await until(async () => (await jobRows('failing'))[0]?.attempts === 1)
    await database.pool.query("update jobs set run_at = now() where kind = 'failing'")
    await until(async () => (await jobRows('failing'))[0]?.status === 'dead')
    await worker.stop()
    expect(await jobRows('failing')).toEqual([{ status: 'dead', attempts: 2, last_error: 'receiver down' }])
  })

  it('RetryLater reschedules without spending an attempt', async () => {
    let calls = 0
    const worker = runner({
      'not-yet': async () => {
        calls += 1
        if (calls < 3) throw new RetryLater(10)
      },
    })
    await enqueueJob(database.pool, 'not-yet', {}, { attemptsMax: 1 })
    await worker.start()
    await until(async () => (await jobRows('not-yet')).length === 0)
    await worker.stop()
    expect(calls).toBe(3)
  })

  it('claims a job again when its worker died holding the lease', async () => {
    await database.pool.query(
      `insert into jobs (kind, attempts_max, status, attempts, locked_by, locked_until)
       values ('orphaned', 3, 'running', 1, 'dead-worker', now() - interval '1 second')`,
    )
    const ran: string[] = []
    const worker = runner({ orphaned: async () => void ran.push('again') })
    await worker.start()
    await until(async () => ran.length === 1)
    await worker.stop()
    expect(await jobRows('orphaned')).toEqual([])
  })

  it('one dedupe key, one live job', async () => {
    expect(await enqueueJob(database.pool, 'scan', {}, { dedupeKey: 'scan:ethereum' })).not.toBeNull()
    expect(await enqueueJob(database.pool, 'scan', {}, { dedupeKey: 'scan:ethereum' })).toBeNull()
    expect(await jobRows('scan')).toHaveLength(1)
  })

  it('enqueues many jobs in one call, skipping dedupe keys a live job holds, and runs them', async () => {
    await enqueueJob(database.pool, 'many', { n: 0 }, { dedupeKey: 'many:1' })
    const enqueued = await enqueueJobs(database.pool, 'many', [
      { payload: { n: 1 }, dedupeKey: 'many:1' },
      { payload: { n: 2 }, dedupeKey: 'many:2' },
      { payload: { n: 3 } },
      { payload: { n: 4 }, dedupeKey: 'many:2' }, // a key twice in one call: the first one stands
    ])
    expect(enqueued).toBe(2)
    expect(await enqueueJobs(database.pool, 'many', [])).toBe(0)
    const seen: unknown[] = []
    const worker = runner({ many: async (job) => void seen.push(job.payload) })
    await worker.start()
    await until(async () => seen.length === 3)
    await worker.stop()
    expect(seen).toEqual(expect.arrayContaining([{ n: 0 }, { n: 2 }, { n: 3 }]))
    expect(await jobRows('many')).toEqual([])
  })

  it('claims a batched kind many jobs at a time, finishes the batch together and retries only its failures', async () => {
    const batches: number[][] = []
    const singles: number[] = []
    // Enqueued before the runner starts, so the first claim finds them all due.
    for (let n = 1; n <= 10; n += 1) await enqueueJob(database.pool, 'batched', { n })
    await enqueueJob(database.pool, 'single', { n: 0 })
    let failedOnce = false
    const batched = batchedJobHandler({
      sizeMax: 4,
      concurrencyMax: 1,
      handle: async (jobs) => {
        batches.push(jobs.map((job) => Number(job.payload.n)))
        const seven = jobs.find((job) => job.payload.n === 7)
        if (seven === undefined || failedOnce) return new Map()
        failedOnce = true
        return new Map([[seven.id, new RetryLater(10, 'seven once more')]])
      },
    })
    const worker = runner({ batched, single: async (job) => void singles.push(Number(job.payload.n)) })
    await worker.start()
    await until(async () => (await jobRows('batched')).length === 0 && singles.length === 1)
    await worker.stop()
    expect(batches.every((batch) => batch.length <= 4)).toBe(true)
    expect(batches.length).toBeLessThan(10)
    // Every job ran once, and seven (failed in its batch, alone) twice.
    expect(batches.flat().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10])
    expect(singles).toEqual([0])
  })

  it('waits gatherMs after a wake-up for a batched kind, so jobs enqueued one by one form one batch', async () => {
    const batches: number[][] = []
    const gathering = batchedJobHandler({
      sizeMax: 16,
      concurrencyMax: 1,
      gatherMs: 400,
      handle: async (jobs) => {
        batches.push(jobs.map((job) => Number(job.payload.n)).sort((a, b) => a - b))
        return new Map()
      },
    })
    // No poll during the test: only the wake-ups (one per commit) can start a claim.
    const worker = new JobRunner({
      pool: database.pool,
      handlers: new Map([['gathering', gathering]]),
      log: silent,
      onFatal: () => {},
      pollIntervalMs: 60_000,
    })
    await worker.start()
    for (let n = 1; n <= 5; n += 1) {
      await enqueueJob(database.pool, 'gathering', { n })
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await until(async () => (await jobRows('gathering')).length === 0)
    await worker.stop()
    expect(batches).toEqual([[1, 2, 3, 4, 5]])
  })

  it('runs a batched handler called with one job as a batch of one, throwing its failure', async () => {
    const handler = batchedJobHandler({
      sizeMax: 8,
      concurrencyMax: 1,
      handle: async (jobs) => new Map(jobs.map((job) => [job.id, new Error(`failed ${job.id}`)])),
    })
    const job = { id: '42', kind: 'batched', payload: {}, attempts: 1, attemptsMax: 3 }
    await expect(handler(job, new AbortController().signal)).rejects.toThrow('failed 42')
  })

  it('hands an assertion failure to onFatal instead of retrying', async () => {
    const fatal: unknown[] = []
    // A claimed kind without a handler is a bug: the runner only claims kinds it has handlers for,
    // so force one through a runner whose map lies about its kinds.
    const lying = new JobRunner({
      pool: database.pool,
      handlers: new Map([['ghost', undefined as unknown as JobHandler]]),
      log: silent,
      onFatal: (error) => fatal.push(error),
      pollIntervalMs: 50,
    })
    await enqueueJob(database.pool, 'ghost', {})
    await lying.start()
    await until(async () => fatal.length === 1)
    await lying.stop()
    expect(String(fatal[0])).toMatch(/no handler/)
  })
})

describe('retryDelayMs', () => {
  it('grows exponentially with jitter and is capped', () => {
    expect(retryDelayMs(1, 0)).toBe(500)
    expect(retryDelayMs(1, 1)).toBe(1000)
    expect(retryDelayMs(5, 1)).toBe(16_000)
    expect(retryDelayMs(40, 1)).toBe(limits.jobBackoffMsMax)
  })
})
