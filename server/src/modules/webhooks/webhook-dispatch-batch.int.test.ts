import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { createDeliverWebhookHandler } from '../../jobs/deliver-webhook.ts'
import { createDispatchEventHandler } from '../../jobs/dispatch-event.ts'
import type { JobBatching, JobRow } from '../../jobs/runner.ts'
import { findFreePort } from '../../lib/free-port.ts'
import { createLogger } from '../../lib/logger.ts'
import { eventLimits } from '../events/event.limits.ts'
import { dispatchEventJobKind, recordEvent, recordEvents } from '../events/event.service.ts'
import type { EventType } from '../events/event.types.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { webhookLimits } from './webhook.limits.ts'
import { createEndpoint, updateEndpoint } from './webhook.service.ts'
import type { EventFilter } from './webhook.types.ts'
import { deliverWebhookJobKind } from './webhook-dispatch.service.ts'

// The dispatcher's batches (docs/adr/0010 §2): many dispatch jobs fanned out in one statement, their first
// attempts made at once, the delivered ones recorded together. These drive the batch handler directly with
// the jobs as the runner would claim them, so each test controls exactly which jobs share a batch.

const silent = createLogger('silent')
let database: TestDatabase
let pool: Pool

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
})
afterAll(async () => {
  await database.drop()
})

type Receiver = { url: string; ids: string[]; close: () => Promise<void> }

/** Answers 204 after `delayMs` (or never, for 'hang'); records every webhook-id it is sent. */
async function startReceiver(delayMs: number | 'hang' = 0): Promise<Receiver> {
  const ids: string[] = []
  const server: Server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      ids.push(String(request.headers['webhook-id']))
      if (delayMs === 'hang') return
      setTimeout(() => response.writeHead(204).end(), delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    ids,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function newMerchant(): Promise<string> {
  return (await createMerchant(pool, { name: 'batch test store' })).merchant.id
}

async function newEndpoint(merchantId: string, url: string, eventFilter: EventFilter = '*') {
  return (await createEndpoint(pool, { merchantId, url, eventFilter, allowInsecure: true })).endpoint
}

async function record(merchantId: string | null, type: EventType = 'payment.finalized') {
  return await withTransaction(pool, (client) =>
    recordEvent(client, { type, merchantId, subjectId: 'pay_batch', payload: { amount: '1' } }),
  )
}

/** The dispatch jobs of these events, as the runner hands them to a batch. */
async function dispatchJobs(eventIds: readonly string[]): Promise<JobRow[]> {
  const result = await pool.query<JobRow & { attempts_max: number }>(
    `select id, kind, payload, attempts, attempts_max from jobs
     where kind = $1 and payload->>'eventId' = any($2) order by id`,
    [dispatchEventJobKind, eventIds],
  )
  return result.rows.map((row) => ({ ...row, attemptsMax: row.attempts_max }))
}

function batchOf(options: { pool?: Pool; timeoutMs?: number } = {}): JobBatching {
  const handler = createDispatchEventHandler({
    pool: options.pool ?? pool,
    logger: silent,
    inlineDelivery: {
      pool: options.pool ?? pool,
      logger: silent,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    },
  })
  if (handler.batch === undefined) throw new Error('dispatch-event is not batched')
  return handler.batch
}

async function deliveriesOf(eventIds: readonly string[]) {
  const result = await pool.query<{
    id: string
    event_id: string
    endpoint_id: string
    status: string
    attempts: number
  }>(
    'select id, event_id, endpoint_id, status, attempts from webhook_deliveries where event_id = any($1) order by id',
    [eventIds],
  )
  return result.rows
}

async function fallbackJobs(deliveryIds: readonly string[]) {
  const result = await pool.query<{ id: string; run_at: Date; payload: Record<string, unknown> }>(
    `select id, run_at, payload from jobs where kind = $1 and payload->>'deliveryId' = any($2)`,
    [deliverWebhookJobKind, deliveryIds],
  )
  return result.rows
}

/** Runs every deliver-webhook job of these deliveries now, as a worker would once they fall due. */
async function runFallbackJobs(deliveryIds: readonly string[]): Promise<void> {
  const deliver = createDeliverWebhookHandler({ pool, logger: silent })
  for (const job of await fallbackJobs(deliveryIds)) {
    await deliver(
      { id: job.id, kind: deliverWebhookJobKind, payload: job.payload, attempts: 1, attemptsMax: 20 },
      new AbortController().signal,
    )
    await pool.query('delete from jobs where id = $1', [job.id])
  }
}

const pairs = (rows: readonly { event_id: string; endpoint_id: string }[]) =>
  rows.map((row) => `${row.event_id}>${row.endpoint_id}`).sort()

describe('dispatch batches', () => {
  it('fans a batch with mixed stores, filters and endpoints out exactly once, even when run again', async () => {
    const receiver = await startReceiver()
    const [storeA, storeB, storeC] = [await newMerchant(), await newMerchant(), await newMerchant()]
    const everything = await newEndpoint(storeA, receiver.url)
    const invoicesOnly = await newEndpoint(storeA, receiver.url, ['invoice.settled'])
    const paymentsOnly = await newEndpoint(storeB, receiver.url, ['payment.finalized'])
    const disabled = await newEndpoint(storeB, receiver.url)
    await updateEndpoint(pool, { merchantId: storeB, endpointId: disabled.id, enabled: false })
    const events = [
      await record(storeA, 'payment.finalized'), // → everything
      await record(storeA, 'invoice.settled'), // → everything, invoicesOnly
      await record(storeB, 'payment.finalized'), // → paymentsOnly (not the disabled one)
      await record(storeB, 'invoice.settled'), // → nothing
      await record(storeC, 'payment.finalized'), // a store without endpoints → nothing
      await record(null, 'payment.finalized'), // installation-wide: the stream only
    ]
    const ids = events.map((event) => event.id)
    const jobs = await dispatchJobs(ids)
    expect(jobs).toHaveLength(events.length)
    const batch = batchOf()
    expect((await batch.handle(jobs, new AbortController().signal)).size).toBe(0)
    const expected = [
      `${ids[0]}>${everything.id}`,
      `${ids[1]}>${everything.id}`,
      `${ids[1]}>${invoicesOnly.id}`,
      `${ids[2]}>${paymentsOnly.id}`,
    ].sort()
    const deliveries = await deliveriesOf(ids)
    expect(pairs(deliveries)).toEqual(expected)
    expect(deliveries.every((delivery) => delivery.status === 'delivered' && delivery.attempts === 1)).toBe(
      true,
    )
    // Delivered: recorded together, and their fallback jobs deleted in the same statement.
    expect(await fallbackJobs(deliveries.map((delivery) => delivery.id))).toEqual([])
    expect([...receiver.ids].sort()).toEqual([ids[0], ids[1], ids[1], ids[2]].sort())

    // The same jobs again (a lease that expired after the fan-out): no new delivery, nothing sent.
    await batch.handle(jobs, new AbortController().signal)
    expect(pairs(await deliveriesOf(ids))).toEqual(expected)
    expect(receiver.ids).toHaveLength(4)
    await receiver.close()
  })

  it('dispatches the events one statement recorded through shared jobs, each event once', async () => {
    const receiver = await startReceiver()
    const store = await newMerchant()
    const endpoint = await newEndpoint(store, receiver.url)
    const perJob = eventLimits.eventsPerDispatchJobMax
    const count = 2 * perJob + 6
    await withTransaction(pool, (client) =>
      recordEvents(
        client,
        Array.from({ length: count }, (_, index) => ({
          type: 'payment.initiated' as const,
          merchantId: store,
          subjectId: `pay_bulk_${index}`,
          payload: { amount: String(index + 1) },
        })),
      ),
    )
    const ids = (
      await pool.query<{ id: string }>(`select id from events where subject_id like 'pay_bulk_%'`)
    ).rows.map((row) => row.id)
    expect(ids).toHaveLength(count)
    const jobs = (
      await pool.query<JobRow & { attempts_max: number }>(
        `select id, kind, payload, attempts, attempts_max from jobs
         where kind = $1 and payload->'eventIds' ?| $2 order by id`,
        [dispatchEventJobKind, ids],
      )
    ).rows.map((row) => ({ ...row, attemptsMax: row.attempts_max }))
    // Three jobs, not 70: every event in exactly one of them.
    const carried = jobs.map((job) => job.payload.eventIds as string[])
    expect(carried.map((eventIds) => eventIds.length).sort((a, b) => a - b)).toEqual([6, perJob, perJob])
    expect(carried.flat().sort()).toEqual([...ids].sort())
    const batch = batchOf()
    expect((await batch.handle(jobs, new AbortController().signal)).size).toBe(0)
    const deliveries = await deliveriesOf(ids)
    expect(pairs(deliveries)).toEqual(ids.map((id) => `${id}>${endpoint.id}`).sort())
    // Attempts past the endpoint's inline slots are left to their jobs: run those as a worker would.
    await runFallbackJobs(deliveries.map((delivery) => delivery.id))
    expect([...receiver.ids].sort()).toEqual([...ids].sort())
    // Run again (a lease that expired after the fan-out): no new delivery, nothing sent twice.
    await batch.handle(jobs, new AbortController().signal)
    expect(await deliveriesOf(ids)).toHaveLength(count)
    expect(receiver.ids).toHaveLength(count)
    await receiver.close()
  })

  it('loses nothing and doubles nothing when the worker dies at any statement of a batch', async () => {
    const receiver = await startReceiver()
    const storeA = await newMerchant()
    const storeB = await newMerchant()
    await newEndpoint(storeA, receiver.url)
    await newEndpoint(storeA, receiver.url, ['payment.finalized'])
    await newEndpoint(storeB, receiver.url)
    // getEvents, endpoints, fan-out insert, delivered record: the statements of a delivered batch.
    const statements = 4
    for (let crashAt = 1; crashAt <= statements; crashAt += 1) {
      for (const when of ['before', 'after'] as const) {
        const events = [await record(storeA), await record(storeB), await record(storeA, 'invoice.settled')]
        const ids = events.map((event) => event.id)
        const jobs = await dispatchJobs(ids)
        const sentBefore = receiver.ids.length
        // A pool whose statement n fails before reaching PostgreSQL, or after committing (the answer lost).
        let count = 0
        const crashing = new Proxy(pool, {
          get(target, property, receiverObject) {
            if (property !== 'query') return Reflect.get(target, property, receiverObject)
            return async (...args: Parameters<Pool['query']>) => {
              count += 1
              const mine = count === crashAt
              if (mine && when === 'before') throw new Error('worker died')
              const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args)
              if (mine) throw new Error('worker died')
              return result
            }
          },
        })
        const failures = await batchOf({ pool: crashing as Pool })
          .handle(jobs, new AbortController().signal)
          .catch((error: unknown) => new Map(jobs.map((job) => [job.id, error])))
        const crashedDuringFanOut = crashAt <= 3
        expect(failures.size > 0).toBe(crashedDuringFanOut)
        // Recovery: the batch's jobs are claimed again (lease expiry), then the fallback jobs fall due.
        await batchOf().handle(jobs, new AbortController().signal)
        const deliveries = await deliveriesOf(ids)
        await runFallbackJobs(deliveries.map((delivery) => delivery.id))

        const after = await deliveriesOf(ids)
        const label = `crash ${when} statement ${crashAt}`
        expect(after.length, label).toBe(4)
        expect(new Set(pairs(after)).size, label).toBe(4)
        expect(
          after.every((delivery) => delivery.status === 'delivered'),
          label,
        ).toBe(true)
        const sent = receiver.ids.slice(sentBefore)
        const perId = (id: string | undefined) => sent.filter((sentId) => sentId === id).length
        // Exactly once, except a crash between the POSTs and their record: sent again by the fallback job,
        // with the same webhook-id (at-least-once).
        const resent = crashAt === 4 && when === 'before' ? 2 : 1
        expect([perId(ids[0]), perId(ids[1]), perId(ids[2])], label).toEqual([2 * resent, resent, resent])
        expect(await fallbackJobs(after.map((delivery) => delivery.id)), label).toEqual([])
      }
    }
    await receiver.close()
  })

  it('makes every first attempt at once: a hanging or dead receiver holds back no other store', async () => {
    const fast = await startReceiver()
    const hanging = await startReceiver('hang')
    const closedPort = await findFreePort()
    const [storeFast, storeHanging, storeDown] = [
      await newMerchant(),
      await newMerchant(),
      await newMerchant(),
    ]
    await newEndpoint(storeFast, fast.url)
    await newEndpoint(storeHanging, hanging.url)
    await newEndpoint(storeDown, `http://127.0.0.1:${closedPort}/hooks`)
    const events = [
      await record(storeHanging),
      await record(storeDown),
      await record(storeFast),
      await record(storeHanging),
      await record(storeFast),
    ]
    const ids = events.map((event) => event.id)
    const timeoutMs = webhookLimits.inlineAttemptsWaitMs + 2_000
    const started = Date.now()
    await batchOf({ timeoutMs }).handle(await dispatchJobs(ids), new AbortController().signal)
    // The batch gives its slot back long before the hanging POSTs time out.
    expect(Date.now() - started).toBeLessThan(timeoutMs)
    expect(fast.ids.sort()).toEqual([ids[2], ids[4]].sort())
    const byEvent = new Map((await deliveriesOf(ids)).map((delivery) => [delivery.event_id, delivery]))
    expect(byEvent.get(ids[2] ?? '')?.status).toBe('delivered')
    expect(byEvent.get(ids[4] ?? '')?.status).toBe('delivered')
    // The dead receiver's failure is recorded and its fallback job moved to the retry time (5 s).
    const down = byEvent.get(ids[1] ?? '')
    expect(down).toMatchObject({ status: 'pending', attempts: 1 })
    const [downJob] = await fallbackJobs([down?.id ?? ''])
    expect(downJob?.run_at.getTime()).toBeLessThan(Date.now() + webhookLimits.retryScheduleMs[0] * 2)
    // The hanging POSTs go on after the batch returned, and are recorded as timeouts when they end.
    expect(hanging.ids).toHaveLength(2)
    expect(byEvent.get(ids[0] ?? '')?.attempts).toBe(0)
    const deadline = Date.now() + timeoutMs + 5_000
    while ((await deliveriesOf([ids[0] ?? '', ids[3] ?? ''])).some((delivery) => delivery.attempts === 0)) {
      if (Date.now() > deadline) throw new Error('the hanging attempts were never recorded')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const attempts = await pool.query<{ error: string | null }>(
      `select a.error from webhook_delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id
       where d.event_id = any($1)`,
      [[ids[0], ids[3]]],
    )
    expect(attempts.rows.map((row) => row.error)).toEqual(['timeout', 'timeout'])
    await fast.close()
    await hanging.close()
  })

  it('bounds first attempts in flight per endpoint; the rest are left to their jobs, due at once', async () => {
    const hanging = await startReceiver('hang')
    const store = await newMerchant()
    await newEndpoint(store, hanging.url)
    const count = webhookLimits.inlineAttemptsPerEndpointMax + 3
    const events = []
    for (let index = 0; index < count; index += 1) events.push(await record(store))
    const ids = events.map((event) => event.id)
    const abort = new AbortController()
    const started = Date.now()
    await batchOf({ timeoutMs: 30_000 }).handle(await dispatchJobs(ids), abort.signal)
    // Past inlineAttemptSlotWaitMs the three without a slot gave up; the others are still hanging.
    expect(hanging.ids).toHaveLength(webhookLimits.inlineAttemptsPerEndpointMax)
    const deliveries = await deliveriesOf(ids)
    const jobs = await fallbackJobs(deliveries.map((delivery) => delivery.id))
    expect(jobs).toHaveLength(count)
    const dueNow = jobs.filter(
      (job) => job.run_at.getTime() < started + webhookLimits.inlineAttemptFallbackMs / 2,
    )
    expect(dueNow).toHaveLength(3)
    // Stopping the worker cuts the hanging POSTs short without recording them: their fallback jobs stay
    // due later and send them again (same webhook-id).
    abort.abort()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const after = await deliveriesOf(ids)
    expect(after.every((delivery) => delivery.status === 'pending' && delivery.attempts === 0)).toBe(true)
    const later = await fallbackJobs(after.map((delivery) => delivery.id))
    expect(
      later.filter((job) => job.run_at.getTime() > Date.now() + webhookLimits.inlineAttemptFallbackMs / 2),
    ).toHaveLength(webhookLimits.inlineAttemptsPerEndpointMax)
    await hanging.close()
  })
})
