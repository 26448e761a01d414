import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { type AddressInfo, createServer as createTcpServer } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { createDeliverWebhookHandler } from '../../jobs/deliver-webhook.ts'
import { createDispatchEventHandler } from '../../jobs/dispatch-event.ts'
import { type JobHandler, JobRunner } from '../../jobs/runner.ts'
import { findFreePort } from '../../lib/free-port.ts'
import { createLogger, type Logger } from '../../lib/logger.ts'
import { dispatchEventJobKind, getEvent, recordEvent } from '../events/event.service.ts'
import type { EventType } from '../events/event.types.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { deliveryErrors } from './webhook.failures.ts'
import { webhookLimits } from './webhook.limits.ts'
import {
  createEndpoint,
  getDelivery,
  listDeliveries,
  redeliver,
  rotateSecret,
  sendTest,
  updateEndpoint,
} from './webhook.service.ts'
import type { RetrySchedule } from './webhook.state.ts'
import type { EventFilter, ResolveHost } from './webhook.types.ts'
import { deliverWebhookJobKind, fanOutEvent } from './webhook-dispatch.service.ts'

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

// --- a local receiver -------------------------------------------------------------------------------

type Received = { headers: IncomingHttpHeaders; body: string; at: number }
/** What the receiver does with request n (0-based): answer a status, drop the socket, or never answer. */
type Behaviour = (index: number) => number | 'drop' | 'hang'

type Receiver = { url: string; port: number; received: Received[]; close: () => Promise<void> }

async function startReceiver(
  behaviour: Behaviour = () => 200,
  port = 0,
  extraHeaders: Record<string, string> = {},
): Promise<Receiver> {
  const received: Received[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const index = received.length
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      })
      const action = behaviour(index)
      if (action === 'drop') request.socket.destroy()
      else if (action !== 'hang')
        response.writeHead(action, { 'content-type': 'text/plain', ...extraHeaders }).end(`answer ${action}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const actualPort = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${actualPort}/hooks`,
    port: actualPort,
    received,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

// --- a worker -----------------------------------------------------------------------------------------

const fastSchedule = (count: number, delayMs = 40): RetrySchedule => ({
  delaysMs: Array(count).fill(delayMs),
  jitterFraction: 0,
})

type WorkerOptions = {
  schedule?: RetrySchedule
  now?: () => Date
  timeoutMs?: number
  logger?: Logger
  /** The gateway's mode: the dispatcher makes each first attempt itself (handlers.ts). */
  inline?: boolean
  resolveHost?: ResolveHost
}

async function startWorker(options: WorkerOptions = {}): Promise<JobRunner> {
  const deliveryContext = {
    pool,
    logger: options.logger ?? silent,
    retrySchedule: options.schedule ?? fastSchedule(3),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.resolveHost === undefined ? {} : { resolveHost: options.resolveHost }),
  }
  const handlers = new Map<string, JobHandler>([
    [
      dispatchEventJobKind,
      createDispatchEventHandler({
        pool,
        logger: options.logger ?? silent,
        ...(options.inline === true ? { inlineDelivery: deliveryContext } : {}),
      }),
    ],
    [deliverWebhookJobKind, createDeliverWebhookHandler(deliveryContext)],
  ])
  const runner = new JobRunner({
    pool,
    handlers,
    log: silent,
    onFatal: (error) => {
      throw error
    },
    pollIntervalMs: 25,
  })
  await runner.start()
  return runner
}

async function withWorker<T>(options: WorkerOptions, work: () => Promise<T>): Promise<T> {
  const runner = await startWorker(options)
  try {
    return await work()
  } finally {
    await runner.stop()
  }
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// --- fixtures -----------------------------------------------------------------------------------------

async function newMerchant(): Promise<string> {
  return (await createMerchant(pool, { name: 'webhook test store' })).merchant.id
}

async function newEndpoint(merchantId: string, url: string, eventFilter: EventFilter = '*') {
  return await createEndpoint(pool, { merchantId, url, eventFilter, allowInsecure: true })
}

async function record(merchantId: string, type: EventType = 'payment.finalized', amount = '1000000') {
  return await withTransaction(pool, (client) =>
    recordEvent(client, {
      type,
      merchantId,
      subjectId: 'pay_test',
      payload: { payment_id: 'pay_test', amount },
    }),
  )
}

async function deliveriesOf(eventId: string) {
  const result = await pool.query<{
    id: string
    endpoint_id: string
    status: string
    attempts: number
    series: number
  }>(
    'select id, endpoint_id, status, attempts, series from webhook_deliveries where event_id = $1 order by id',
    [eventId],
  )
  return result.rows
}

/** Waits for exactly `count` deliveries of the event, all delivered (an empty list is not "all delivered"). */
async function untilDelivered(eventId: string, count: number): Promise<void> {
  await until(async () => {
    const deliveries = await deliveriesOf(eventId)
    return deliveries.length === count && deliveries.every((delivery) => delivery.status === 'delivered')
  })
}

async function attemptsOf(deliveryId: string) {
  const result = await pool.query<{
    series: number
    attempt: number
    status_code: number | null
    error: string | null
  }>(
    'select series, attempt, status_code, error from webhook_delivery_attempts where delivery_id = $1 order by id',
    [deliveryId],
  )
  return result.rows
}

async function jobsOfKind(kind: string): Promise<number> {
  const result = await pool.query<{ count: number }>(
    'select count(*)::int as count from jobs where kind = $1',
    [kind],
  )
  return result.rows[0]?.count ?? 0
}

// --- tests --------------------------------------------------------------------------------------------

describe('webhook delivery', () => {
  it('delivers an event recorded in a committed transaction, signed so standardwebhooks verifies it', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    const { endpoint, secret } = await newEndpoint(merchantId, receiver.url)
    await withWorker({}, async () => {
      const event = await record(merchantId, 'payment.finalized', '1234567')
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'delivered')
      expect(receiver.received).toHaveLength(1)
      const [request] = receiver.received
      if (request === undefined) throw new Error('no request')
      const headers = request.headers as Record<string, string>
      expect(headers['webhook-id']).toBe(event.id)
      expect(headers['content-type']).toBe('application/json')
      expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
      const verified = new Webhook(secret).verify(request.body, headers)
      expect(verified).toEqual({
        id: event.id,
        type: 'payment.finalized',
        created_at: event.createdAt.toISOString(),
        data: { payment_id: 'pay_test', amount: '1234567' },
      })
      const [delivery] = await deliveriesOf(event.id)
      expect(delivery).toMatchObject({ endpoint_id: endpoint.id, attempts: 1, series: 1 })
      expect(await attemptsOf(delivery?.id ?? '')).toEqual([
        { series: 1, attempt: 1, status_code: 200, error: null },
      ])
    })
    await receiver.close()
  })

  it('never delivers an event whose transaction rolled back', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, receiver.url)
    let rolledBackId = ''
    await expect(
      withTransaction(pool, async (client) => {
        rolledBackId = (
          await recordEvent(client, { type: 'invoice.settled', merchantId, subjectId: null, payload: {} })
        ).id
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    await withWorker({}, async () => {
      const marker = await record(merchantId)
      await until(async () => (await deliveriesOf(marker.id))[0]?.status === 'delivered')
    })
    expect(receiver.received.map((request) => request.headers['webhook-id'])).not.toContain(rolledBackId)
    expect(receiver.received).toHaveLength(1)
    expect((await pool.query('select 1 from events where id = $1', [rolledBackId])).rowCount).toBe(0)
    expect((await pool.query('select 1 from jobs where dedupe_key = $1', [rolledBackId])).rowCount).toBe(0)
    await receiver.close()
  })

  it('delivers only to enabled endpoints whose filter matches', async () => {
    const receivers = await Promise.all([startReceiver(), startReceiver(), startReceiver()])
    const [invoices, everything, disabled] = receivers
    if (invoices === undefined || everything === undefined || disabled === undefined)
      throw new Error('receivers')
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, invoices.url, ['invoice.settled', 'invoice.expired'])
    await newEndpoint(merchantId, everything.url, '*')
    const off = await newEndpoint(merchantId, disabled.url, ['payment.finalized'])
    await updateEndpoint(pool, { merchantId, endpointId: off.endpoint.id, enabled: false })
    const otherMerchant = await newMerchant()
    await withWorker({}, async () => {
      const payment = await record(merchantId, 'payment.finalized')
      const invoice = await record(merchantId, 'invoice.settled')
      await record(otherMerchant, 'invoice.settled')
      await untilDelivered(invoice.id, 2)
      await untilDelivered(payment.id, 1)
      expect((await deliveriesOf(payment.id)).length).toBe(1)
      expect((await deliveriesOf(invoice.id)).length).toBe(2)
      const ids = (receiver: typeof invoices) =>
        receiver.received.map((request) => request.headers['webhook-id'])
      expect(ids(invoices)).toEqual([invoice.id])
      expect(new Set(ids(everything))).toEqual(new Set([payment.id, invoice.id]))
      expect(ids(disabled)).toEqual([])
    })
    await Promise.all(receivers.map((receiver) => receiver.close()))
  })

  it('retries a failing receiver (timeout, 500, dropped socket, refused) until it succeeds, with one webhook-id', async () => {
    // The receiver's port is closed for the first attempt (connection refused), then it starts and hangs,
    // answers 500, drops the socket, and finally answers 200.
    const port = await findFreePort()
    const merchantId = await newMerchant()
    const { secret } = await newEndpoint(merchantId, `http://127.0.0.1:${port}/hooks`)
    let receiver: Receiver | undefined
    await withWorker({ schedule: fastSchedule(6, 60), timeoutMs: 300 }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.attempts === 1)
      receiver = await startReceiver((index) => (['hang', 500, 'drop'] as const)[index] ?? 200, port)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'delivered')
      const deliveries = await deliveriesOf(event.id)
      expect(deliveries).toHaveLength(1)
      const [delivery] = deliveries
      const attempts = await attemptsOf(delivery?.id ?? '')
      expect(attempts.map((attempt) => attempt.attempt)).toEqual([1, 2, 3, 4, 5])
      expect(attempts[0]?.error).toBe('connection-refused')
      expect(attempts[1]?.error).toBe('timeout')
      expect(attempts[2]).toMatchObject({ status_code: 500, error: null })
      expect(attempts[3]).toMatchObject({ status_code: null, error: 'connection-reset' })
      expect(attempts[4]?.status_code).toBe(200)
      const received = receiver.received
      expect(received).toHaveLength(4)
      expect(new Set(received.map((request) => request.headers['webhook-id']))).toEqual(new Set([event.id]))
      const last = received[3]
      if (last === undefined) throw new Error('no last request')
      expect(new Webhook(secret).verify(last.body, last.headers as Record<string, string>)).toBeDefined()
      expect(new Set(received.map((request) => request.body)).size).toBe(1)
    })
    await receiver?.close()
  })

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const target = await startReceiver()
    const redirecting = await startReceiver(() => 307, 0, { location: target.url })
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, redirecting.url)
    await withWorker({ schedule: fastSchedule(1, 30) }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'dead')
      const [delivery] = await deliveriesOf(event.id)
      expect((await attemptsOf(delivery?.id ?? '')).map((attempt) => attempt.status_code)).toEqual([307, 307])
    })
    expect(target.received).toHaveLength(0)
    await Promise.all([target.close(), redirecting.close()])
  })

  it('connects to the address it checked, not to a fresh DNS answer (no rebinding between the two)', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    // A name the system resolver cannot answer: only the checked address can reach the receiver.
    const named = receiver.url.replace('127.0.0.1', 'hooks.sluice.invalid')
    const resolveHost: ResolveHost = async (host) => (host === 'hooks.sluice.invalid' ? ['127.0.0.1'] : [])
    await createEndpoint(
      pool,
      { merchantId, url: named, eventFilter: '*', allowInsecure: true },
      { resolveHost },
    )
    await withWorker({ resolveHost }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'delivered')
    })
    expect(receiver.received).toHaveLength(1)
    await receiver.close()
  })

  it('never connects to loopback when DNS answers the check a public address and loopback afterwards', async () => {
    // Rebinding: the hostile name answers 203.0.113.7 (public) to the check and 127.0.0.1 to any later
    // question. `localhost` stands for it because the system resolver answers loopback for it too: a POST
    // that resolved the name again at connect, instead of using the checked address, would reach this port.
    let connections = 0
    const listener = createTcpServer((socket) => {
      connections += 1
      socket.destroy()
    })
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    const port = (listener.address() as AddressInfo).port
    // Where localhost is ::1 too, that is loopback as well (best effort: the port may be taken there).
    const listenerV6 = createTcpServer((socket) => {
      connections += 1
      socket.destroy()
    })
    await new Promise<void>((resolve) => {
      listenerV6.once('error', () => resolve())
      listenerV6.listen(port, '::1', resolve)
    })
    let questions = 0
    const rebinding: ResolveHost = async () => {
      questions += 1
      return questions === 1 ? ['203.0.113.7'] : ['127.0.0.1']
    }
    const merchantId = await newMerchant()
    // A store's endpoint: https, neither local nor insecure. Saved while the name answered publicly.
    const url = `https://localhost:${port}/hooks`
    await createEndpoint(
      pool,
      { merchantId, url, eventFilter: '*' },
      { resolveHost: async () => ['203.0.113.7'] },
    )
    await withWorker({ resolveHost: rebinding, schedule: fastSchedule(1, 30), timeoutMs: 300 }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'dead')
      const [delivery] = await deliveriesOf(event.id)
      const errors = (await attemptsOf(delivery?.id ?? '')).map((attempt) => attempt.error)
      // The first attempt went to 203.0.113.7 (TEST-NET-3: nothing answers); the second was refused by the check.
      expect(['timeout', 'host-unreachable', 'connection-refused']).toContain(errors[0])
      expect(errors[1]).toBe('address-refused')
    })
    expect(questions).toBe(2)
    expect(connections).toBe(0)
    await new Promise<void>((resolve) => listener.close(() => resolve()))
    await new Promise<void>((resolve) =>
      listenerV6.listening ? listenerV6.close(() => resolve()) : resolve(),
    )
  })

  it('records each failure as its class, never the network text, an address or a port; the log keeps the cause', async () => {
    const lines: string[] = []
    const logger = createLogger('trace', { write: (line: string) => void lines.push(line) })
    const closedPort = await findFreePort()
    const hanging = await startReceiver(() => 'hang')
    const dropping = await startReceiver(() => 'drop')
    // Plain HTTP where the endpoint says https: the TLS handshake fails.
    const plain = await startReceiver()
    const merchantId = await newMerchant()
    const notFound: ResolveHost = async (host) => {
      if (host === 'nowhere.sluice.invalid')
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
      return ['127.0.0.1']
    }
    // Saved while every name resolved; the worker's resolver no longer finds nowhere.sluice.invalid.
    const local = (url: string) =>
      createEndpoint(
        pool,
        { merchantId, url, eventFilter: '*', allowLocal: true },
        { resolveHost: async () => ['127.0.0.1'] },
      )
    const endpoints = {
      'connection-refused': await newEndpoint(merchantId, `http://127.0.0.1:${closedPort}/hooks`),
      timeout: await newEndpoint(merchantId, hanging.url),
      'connection-reset': await newEndpoint(merchantId, dropping.url),
      'tls-failed': await local(`https://127.0.0.1:${plain.port}/hooks`),
      'dns-failed': await local(`https://nowhere.sluice.invalid:${plain.port}/hooks`),
      'address-refused': await local(`https://127.0.0.1:${plain.port}/refused`),
    }
    // Saved while the gateway allowed local receivers; the delivery-time check sees it may no longer.
    await pool.query('update webhook_endpoints set allow_local = false where id = $1', [
      endpoints['address-refused'].endpoint.id,
    ])
    const secret = endpoints.timeout.secret
    await withWorker(
      { schedule: fastSchedule(0), timeoutMs: 300, resolveHost: notFound, logger },
      async () => {
        const event = await record(merchantId)
        await until(async () => {
          const rows = await deliveriesOf(event.id)
          return rows.length === 6 && rows.every((row) => row.status === 'dead')
        })
        const shown = await listDeliveries(pool, { merchantId, eventId: event.id })
        const byEndpoint = new Map(shown.deliveries.map((delivery) => [delivery.endpointId, delivery]))
        const details = []
        for (const [expected, { endpoint }] of Object.entries(endpoints)) {
          const delivery = byEndpoint.get(endpoint.id)
          expect([expected, delivery?.lastError, delivery?.lastStatusCode]).toEqual([
            expected,
            expected,
            null,
          ])
          const detail = await getDelivery(pool, { merchantId, deliveryId: delivery?.id ?? '' })
          expect([expected, detail.attempts.map((attempt) => attempt.error)]).toEqual([expected, [expected]])
          details.push(detail)
        }
        const served = JSON.stringify(details)
        for (const port of [closedPort, hanging.port, dropping.port, plain.port])
          expect(served).not.toContain(String(port))
        expect(served).not.toMatch(/\d+\.\d+\.\d+\.\d+|ECONN|ENOTFOUND|SSL|certificate/)
        for (const detail of details) expect(deliveryErrors).toContain(detail.delivery.lastError)
      },
    )
    // The operator's log has what the store does not: the code and the address it came from.
    const logged = lines.join('\n')
    expect(logged).toContain(`ECONNREFUSED 127.0.0.1:${closedPort}`)
    expect(logged).toContain('ENOTFOUND')
    for (const leak of [secret.slice('whsec_'.length, 22), 'v1,']) expect(logged, leak).not.toContain(leak)
    await Promise.all([hanging.close(), dropping.close(), plain.close()])
  })

  it('shows a row written before the classes as its class', async () => {
    const receiver = await startReceiver(() => 500)
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, receiver.url)
    await withWorker({ schedule: fastSchedule(0) }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'dead')
      const [row] = await deliveriesOf(event.id)
      const deliveryId = row?.id ?? ''
      // What a version before the classes could have stored (codes, or text naming an address and port).
      await pool.query(
        'update webhook_deliveries set last_error = $2, last_status_code = null where id = $1',
        [deliveryId, 'ECONNREFUSED 10.0.0.5:443'],
      )
      await pool.query(
        'update webhook_delivery_attempts set error = $2, status_code = null where delivery_id = $1',
        [deliveryId, 'dns: ENOTFOUND'],
      )
      const shown = await getDelivery(pool, { merchantId, deliveryId })
      expect(shown.delivery.lastError).toBe('connection-refused')
      expect(shown.attempts.map((attempt) => attempt.error)).toEqual(['dns-failed'])
    })
    await receiver.close()
  })

  it('marks a delivery dead after the schedule is exhausted, and leaves no job behind', async () => {
    const receiver = await startReceiver(() => 503)
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, receiver.url)
    await withWorker({ schedule: fastSchedule(2, 30) }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'dead')
      const [delivery] = await deliveriesOf(event.id)
      expect(delivery?.attempts).toBe(3)
      expect((await attemptsOf(delivery?.id ?? '')).map((attempt) => attempt.status_code)).toEqual([
        503, 503, 503,
      ])
      await until(async () => (await jobsOfKind(deliverWebhookJobKind)) === 0)
      expect(receiver.received).toHaveLength(3)
      const shown = await getDelivery(pool, { merchantId, deliveryId: delivery?.id ?? '' })
      expect(shown.delivery).toMatchObject({ status: 'dead', lastStatusCode: 503, nextAttemptAt: null })
      expect(shown.attempts[0]?.responseExcerpt).toBe('answer 503')
    })
    await receiver.close()
  })

  it('redelivers as a new attempt series with the same webhook-id and delivery row', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    const { secret } = await newEndpoint(merchantId, receiver.url)
    await withWorker({}, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'delivered')
      const [delivery] = await deliveriesOf(event.id)
      const restarted = await redeliver(pool, { merchantId, deliveryId: delivery?.id ?? '' })
      expect(restarted).toMatchObject({ id: delivery?.id, series: 2, attempts: 0, status: 'pending' })
      await until(() => receiver.received.length === 2)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'delivered')
      expect(await deliveriesOf(event.id)).toHaveLength(1)
      expect(
        (await attemptsOf(delivery?.id ?? '')).map((attempt) => [attempt.series, attempt.attempt]),
      ).toEqual([
        [1, 1],
        [2, 1],
      ])
      for (const request of receiver.received) {
        expect(request.headers['webhook-id']).toBe(event.id)
        expect(
          new Webhook(secret).verify(request.body, request.headers as Record<string, string>),
        ).toBeDefined()
      }
    })
    await expect(
      redeliver(pool, { merchantId: await newMerchant(), deliveryId: 'whd_x' }),
    ).rejects.toMatchObject({
      code: 'webhook-delivery-not-found',
    })
    await receiver.close()
  })

  it('sends a test event to the one endpoint asked, whatever its filter', async () => {
    const [target, bystander] = await Promise.all([startReceiver(), startReceiver()])
    if (target === undefined || bystander === undefined) throw new Error('receivers')
    const merchantId = await newMerchant()
    const { endpoint, secret } = await newEndpoint(merchantId, target.url, ['invoice.settled'])
    await newEndpoint(merchantId, bystander.url, '*')
    await withWorker({}, async () => {
      const sent = await sendTest(pool, { merchantId, endpointId: endpoint.id })
      await until(async () => (await deliveriesOf(sent.eventId))[0]?.status === 'delivered')
      const [request] = target.received
      if (request === undefined) throw new Error('no request')
      const body = new Webhook(secret).verify(request.body, request.headers as Record<string, string>)
      expect(body).toMatchObject({
        id: sent.eventId,
        type: 'webhook.test',
        data: { endpoint_id: endpoint.id },
      })
      // Give a wrongly fanned-out copy time to arrive before asserting it did not.
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(bystander.received).toHaveLength(0)
      expect(await jobsOfKind(dispatchEventJobKind)).toBe(0)
    })
    await Promise.all([target.close(), bystander.close()])
  })

  it('disables an endpoint that has failed for endpointDisableAfterMs and records webhook_endpoint.disabled', async () => {
    const [failing, watcher] = await Promise.all([startReceiver(() => 500), startReceiver()])
    if (failing === undefined || watcher === undefined) throw new Error('receivers')
    const merchantId = await newMerchant()
    const broken = await newEndpoint(merchantId, failing.url, ['payment.finalized'])
    await newEndpoint(merchantId, watcher.url, ['webhook_endpoint.disabled'])
    let nowMs = Date.parse('2026-03-01T00:00:00Z')
    await withWorker({ schedule: fastSchedule(1, 30), now: () => new Date(nowMs) }, async () => {
      const first = await record(merchantId)
      await until(async () => (await deliveriesOf(first.id))[0]?.status === 'dead')
      const failingSince = (await listEndpointsFailing(merchantId))[0]
      expect(failingSince?.toISOString()).toBe('2026-03-01T00:00:00.000Z')
      // One millisecond short of the window: still enabled.
      nowMs += webhookLimits.endpointDisableAfterMs - 1
      const second = await record(merchantId)
      await until(async () => (await deliveriesOf(second.id))[0]?.status === 'dead')
      expect((await endpointState(broken.endpoint.id)).enabled).toBe(true)
      nowMs += 1
      const third = await record(merchantId)
      await until(async () => (await endpointState(broken.endpoint.id)).enabled === false)
      await until(async () => (await deliveriesOf(third.id))[0]?.status === 'dead')
      expect(await endpointState(broken.endpoint.id)).toMatchObject({
        enabled: false,
        disabled_reason: 'failing',
      })
      await until(() => watcher.received.length === 1)
      const notice = JSON.parse(watcher.received[0]?.body ?? '{}')
      expect(notice).toMatchObject({
        type: 'webhook_endpoint.disabled',
        data: {
          endpoint_id: broken.endpoint.id,
          reason: 'failing',
          failing_since: '2026-03-01T00:00:00.000Z',
        },
      })
      expect(JSON.stringify(notice)).not.toContain('/hooks')
      // A disabled endpoint gets no new deliveries; re-enabling starts a fresh failing window.
      const fourth = await record(merchantId)
      await until(async () => (await jobsOfKind(dispatchEventJobKind)) === 0)
      expect(await deliveriesOf(fourth.id)).toHaveLength(0)
      const enabled = await updateEndpoint(pool, {
        merchantId,
        endpointId: broken.endpoint.id,
        enabled: true,
      })
      expect(enabled).toMatchObject({ enabled: true, disabledReason: null, failingSince: null })
    })
    await Promise.all([failing.close(), watcher.close()])
  })

  it('never logs secrets, URL credentials or response bodies; credentials travel as Basic auth', async () => {
    const receiver = await startReceiver(() => 500)
    const lines: string[] = []
    const logger = createLogger('trace', { write: (line: string) => void lines.push(line) })
    const merchantId = await newMerchant()
    const credentialUrl = `http://hookuser:hunter2-url-password@127.0.0.1:${receiver.port}/hooks/path-token-xyz?token=query-token-abc`
    const { secret } = await newEndpoint(merchantId, credentialUrl)
    await withWorker({ schedule: fastSchedule(1, 30), logger }, async () => {
      const event = await record(merchantId)
      await until(async () => (await deliveriesOf(event.id))[0]?.status === 'dead')
    })
    const [request] = receiver.received
    expect(request?.headers.authorization).toBe(
      `Basic ${Buffer.from('hookuser:hunter2-url-password').toString('base64')}`,
    )
    expect(lines.length).toBeGreaterThan(0)
    const logged = lines.join('\n')
    expect(logged).toContain('webhook attempt failed')
    for (const leak of [
      secret.slice('whsec_'.length, 22),
      'hunter2-url-password',
      'path-token-xyz',
      'query-token-abc',
      'answer 500',
    ])
      expect(logged, leak).not.toContain(leak)
    await receiver.close()
  })

  it('signs with both secrets during a rotation overlap, and only the new one after', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    const { endpoint, secret: oldSecret } = await newEndpoint(merchantId, receiver.url)
    const verifies = (secret: string, index: number) => {
      const request = receiver.received[index]
      if (request === undefined) throw new Error(`no request ${index}`)
      try {
        new Webhook(secret).verify(request.body, request.headers as Record<string, string>)
        return true
      } catch {
        return false
      }
    }
    await withWorker({}, async () => {
      const overlapping = await rotateSecret(pool, { merchantId, endpointId: endpoint.id, overlapMs: 60_000 })
      await sendTest(pool, { merchantId, endpointId: endpoint.id })
      await until(() => receiver.received.length === 1)
      expect([verifies(oldSecret, 0), verifies(overlapping.secret, 0)]).toEqual([true, true])
      const immediate = await rotateSecret(pool, { merchantId, endpointId: endpoint.id, overlapMs: 0 })
      await sendTest(pool, { merchantId, endpointId: endpoint.id })
      await until(() => receiver.received.length === 2)
      expect([
        verifies(oldSecret, 1),
        verifies(overlapping.secret, 1),
        verifies(immediate.secret, 1),
      ]).toEqual([false, false, true])
    })
    await receiver.close()
  })

  it('delivers 100 events as 100 deliveries, each once', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, receiver.url)
    await withWorker({}, async () => {
      const started = Date.now()
      const events = await withTransaction(pool, async (client) => {
        const recorded = []
        for (let index = 0; index < 100; index += 1)
          recorded.push(
            await recordEvent(client, {
              type: 'invoice.settled',
              merchantId,
              subjectId: null,
              payload: { n: index },
            }),
          )
        return recorded
      })
      await until(async () => {
        const page = await listDeliveries(pool, { merchantId, status: 'delivered', limit: 100 })
        return page.deliveries.length === 100
      }, 60_000)
      const elapsedMs = Date.now() - started
      const ids = receiver.received.map((request) => request.headers['webhook-id'])
      expect(ids).toHaveLength(100)
      expect(new Set(ids)).toEqual(new Set(events.map((event) => event.id)))
      // Sanity, not a benchmark: a local receiver and 8 concurrent jobs should manage well over 10/s.
      expect(elapsedMs).toBeLessThan(30_000)
      console.info(`100 webhook deliveries in ${elapsedMs} ms`)
    })
    await receiver.close()
  })
})

async function listEndpointsFailing(merchantId: string): Promise<(Date | null)[]> {
  const result = await pool.query<{ failing_since: Date | null }>(
    'select failing_since from webhook_endpoints where merchant_id = $1 order by created_at',
    [merchantId],
  )
  return result.rows.map((row) => row.failing_since)
}

async function endpointState(endpointId: string) {
  const result = await pool.query<{ enabled: boolean; disabled_reason: string | null }>(
    'select enabled, disabled_reason from webhook_endpoints where id = $1',
    [endpointId],
  )
  return result.rows[0] ?? { enabled: false, disabled_reason: 'missing' }
}

describe("first attempt made by the dispatcher (the gateway's mode)", () => {
  async function deliveryJobs(): Promise<{ run_at: Date; status: string }[]> {
    const result = await pool.query<{ run_at: Date; status: string }>(
      'select run_at, status from jobs where kind = $1',
      [deliverWebhookJobKind],
    )
    return result.rows
  }

  it('delivers once without a job hop, and leaves no job behind', async () => {
    const receiver = await startReceiver()
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, receiver.url)
    await withWorker({ inline: true }, async () => {
      const event = await record(merchantId)
      await untilDelivered(event.id, 1)
      const [delivery] = await deliveriesOf(event.id)
      expect(delivery?.attempts).toBe(1)
      await until(async () => (await deliveryJobs()).length === 0)
    })
    expect(receiver.received.map((request) => request.headers['webhook-id'])).toHaveLength(1)
    await receiver.close()
  })

  it('hands a failed first attempt to its job at the retry time: same webhook-id, one delivery row', async () => {
    const receiver = await startReceiver((index) => (index === 0 ? 500 : 200))
    const merchantId = await newMerchant()
    await newEndpoint(merchantId, receiver.url)
    await withWorker({ inline: true }, async () => {
      const event = await record(merchantId)
      await untilDelivered(event.id, 1)
      const [delivery] = await deliveriesOf(event.id)
      expect(delivery?.attempts).toBe(2)
      expect((await attemptsOf(delivery?.id ?? '')).map((attempt) => attempt.status_code)).toEqual([500, 200])
    })
    const ids = receiver.received.map((request) => request.headers['webhook-id'])
    expect(ids).toHaveLength(2)
    expect(new Set(ids).size).toBe(1)
    await receiver.close()
  })

  it('hands the delivery of a dispatcher that died before attempting to a job, when its dispatch job runs again', async () => {
    const merchantId = await newMerchant()
    const receiver = await startReceiver()
    await newEndpoint(merchantId, receiver.url)
    const event = await record(merchantId)
    const stored = await getEvent(pool, event.id)
    if (stored === undefined) throw new Error('event not stored')
    // The dispatcher's first step only: the fan-out commits, then the process "dies". The delivery has no
    // job of its own: the event's dispatch job, still there, stands in for it.
    const created = await fanOutEvent(pool, stored, new Date(), true)
    expect(created).toHaveLength(1)
    expect(await deliveryJobs()).toEqual([])
    // The dispatch job is claimed again (its lease expired): the fan-out finds the delivery pending and
    // gives it a job due now, which attempts it once.
    await withWorker({ inline: true }, async () => {
      await untilDelivered(event.id, 1)
    })
    expect(receiver.received).toHaveLength(1)
    expect(await deliveryJobs()).toEqual([])
    await receiver.close()
  })
})
