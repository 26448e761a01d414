import { randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pageSizeMax } from '@sluice/sdk/api/common'
import { apiContract, apiOperations } from '@sluice/sdk/api/contract'
import { operationErrors } from '@sluice/sdk/api/operation'
import { webhookDeliveryErrors } from '@sluice/sdk/api/webhooks'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import type { Pool } from '../db/pool.ts'
import { withTransaction } from '../db/tx.ts'
import { createDeliverWebhookHandler } from '../jobs/deliver-webhook.ts'
import { createDispatchEventHandler } from '../jobs/dispatch-event.ts'
import { type JobHandler, JobRunner } from '../jobs/runner.ts'
import { findFreePort } from '../lib/free-port.ts'
import { createLogger } from '../lib/logger.ts'
import { dispatchEventJobKind, recordEvent } from '../modules/events/event.service.ts'
import { createMerchant, issueApiKey } from '../modules/merchants/merchant.service.ts'
import { postWebhook, type WebhookPost } from '../modules/webhooks/webhook.post.ts'
import { deliverWebhookJobKind } from '../modules/webhooks/webhook-dispatch.service.ts'
import { buildApp } from './app.ts'
import { createMetrics } from './metrics.ts'
import type { OpenApiDocument } from './openapi.ts'

// The webhooks API end to end: a real Fastify server on a test database, driven over HTTP by the SDK,
// with a job runner delivering to a local receiver.

const silent = createLogger('silent')
let database: TestDatabase
let pool: Pool
let app: FastifyInstance
let baseUrl: string
let runner: JobRunner
let receiver: Receiver
const stores = { a: '', b: '' }
const keys = { adminA: '', adminB: '', readA: '', ledgerA: '' }

const client = (apiKey: string): SluiceClient => createSluiceClient({ baseUrl, apiKey })
const missingEndpoint = 'whk_00000000000000000000000000'
const missingDelivery = 'whd_00000000000000000000000000'

// --- a local receiver -----------------------------------------------------------------------------------

type Received = { path: string; headers: Record<string, string>; body: string }
type Receiver = {
  port: number
  received: Received[]
  /** Statuses to answer per path, in order; 200 once they run out. */
  answers: Map<string, number[]>
  close: () => Promise<void>
}

async function startReceiver(): Promise<Receiver> {
  const received: Received[] = []
  const answers = new Map<string, number[]>()
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const path = request.url ?? ''
      received.push({
        path,
        headers: flatHeaders(request.headers),
        body: Buffer.concat(chunks).toString('utf8'),
      })
      response.writeHead(answers.get(path)?.shift() ?? 200, { 'content-type': 'text/plain' }).end('thanks')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    received,
    answers,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]))
}

/**
 * Endpoints must be https:// (http needs the operator-only allow_insecure flag), so they point at
 * https://127.0.0.1:<receiver>; the worker's post stands in for a TLS-terminating proxy and sends plain
 * HTTP to the same address. The SSRF check, signing, attempt log and retries all run unchanged.
 */
const tlsTerminatingPost: WebhookPost = async (request) =>
  await postWebhook({ ...request, url: new URL(request.url.toString().replace(/^https:/, 'http:')) })

const receiverUrl = (path = 'hooks') => `https://127.0.0.1:${receiver.port}/${path}`

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

const paths = (error: SluiceApiError) => error.errors.map((detail) => detail.path).sort()

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
  const storeA = await createMerchant(pool, { name: 'Store A' })
  const storeB = await createMerchant(pool, { name: 'Store B' })
  stores.a = storeA.merchant.id
  stores.b = storeB.merchant.id
  keys.adminA = storeA.apiKey.key
  keys.adminB = storeB.apiKey.key
  keys.readA = (await issueApiKey(pool, { merchantId: stores.a, label: 'r', scopes: ['webhooks:read'] })).key
  keys.ledgerA = (await issueApiKey(pool, { merchantId: stores.a, label: 'l', scopes: ['ledger:read'] })).key
  const rateLimit = { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 }
  app = await buildApp({
    pool,
    logger: silent,
    metrics: createMetrics(),
    networks: [],
    api: { assertResponses: true, rateLimit, webhookLocalEndpoints: true },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  receiver = await startReceiver()
  // The worker's two webhook jobs (fan-out, delivery), retrying after 50 ms instead of Svix's schedule.
  const handlers = new Map<string, JobHandler>([
    [dispatchEventJobKind, createDispatchEventHandler({ pool, logger: silent })],
    [
      deliverWebhookJobKind,
      createDeliverWebhookHandler({
        pool,
        logger: silent,
        post: tlsTerminatingPost,
        retrySchedule: { delaysMs: [50, 50, 50], jitterFraction: 0 },
      }),
    ],
  ])
  runner = new JobRunner({
    pool,
    handlers,
    log: silent,
    onFatal: (error) => {
      throw error
    },
    pollIntervalMs: 25,
  })
  await runner.start()
})

afterAll(async () => {
  await runner?.stop()
  await receiver?.close()
  await app?.close()
  await database?.drop()
})

async function newEndpoint(apiKey = keys.adminA, path = 'hooks') {
  return await client(apiKey).createWebhookEndpoint({
    body: { url: receiverUrl(path), event_filter: '*', description: 'test' },
  })
}

describe('webhook endpoints', () => {
  it('shows the secret once, at creation; never in reads or in the idempotency record', async () => {
    const admin = client(keys.adminA)
    const created = await admin.createWebhookEndpoint({
      body: { url: receiverUrl(), event_filter: ['invoice.settled', 'payment.finalized'] },
    })
    expect(created.secret).toMatch(/^whsec_/)
    expect(created).toMatchObject({
      url: receiverUrl(),
      description: '',
      enabled: true,
      allow_insecure: false,
    })
    expect(created.event_filter).toEqual(['invoice.settled', 'payment.finalized'])
    const secret = created.secret ?? ''
    for (const url of [`/v1/webhooks?limit=${pageSizeMax}`, `/v1/webhooks/${created.id}`]) {
      const text = await (
        await fetch(`${baseUrl}${url}`, { headers: { authorization: `Bearer ${keys.readA}` } })
      ).text()
      expect(text).toContain(created.id)
      expect(text).not.toContain(secret)
      expect(text).not.toContain('whsec_')
    }
    expect(await client(keys.readA).getWebhookEndpoint({ params: { id: created.id } })).toEqual(
      Object.fromEntries(Object.entries(created).filter(([name]) => name !== 'secret')),
    )

    const idempotencyKey = randomUUID()
    const body = { url: receiverUrl('once'), event_filter: '*' as const }
    const first = await admin.send(apiContract.createWebhookEndpoint, { body, idempotencyKey })
    const replay = await admin.send(apiContract.createWebhookEndpoint, { body, idempotencyKey })
    expect(first.data.secret).toMatch(/^whsec_/)
    expect([replay.replayed, replay.data.id, replay.data.secret]).toEqual([true, first.data.id, null])
    const stored = await pool.query<{ body: string }>(
      'select response_body::text as body from idempotency_keys where key = $1',
      [idempotencyKey],
    )
    expect(stored.rows[0]?.body).toContain(first.data.id)
    expect(stored.rows[0]?.body).not.toContain(first.data.secret ?? 'unreachable')
  })

  it('changes only the fields sent, and disables and re-enables an endpoint', async () => {
    const admin = client(keys.adminA)
    const created = await newEndpoint()
    const id = created.id
    const changed = await admin.updateWebhookEndpoint({
      params: { id },
      body: { event_filter: ['payout.sent'], description: 'payouts only' },
    })
    expect(changed).toMatchObject({
      url: created.url,
      event_filter: ['payout.sent'],
      description: 'payouts only',
    })
    const moved = await admin.updateWebhookEndpoint({ params: { id }, body: { url: receiverUrl('moved') } })
    expect([moved.url, moved.description]).toEqual([receiverUrl('moved'), 'payouts only'])
    const off = await admin.updateWebhookEndpoint({ params: { id }, body: { enabled: false } })
    expect([off.enabled, off.disabled_reason, off.disabled_at === null]).toEqual([false, 'manual', false])
    const refused = await apiError(admin.sendWebhookEndpointTest({ params: { id } }))
    expect([refused.status, refused.code]).toEqual([409, 'webhook-endpoint-disabled'])
    const on = await admin.updateWebhookEndpoint({ params: { id }, body: { enabled: true } })
    expect([on.enabled, on.disabled_reason, on.disabled_at]).toEqual([true, null, null])
  })

  it('deletes an endpoint; afterwards it is not found', async () => {
    const admin = client(keys.adminA)
    const { id } = await newEndpoint()
    expect(await admin.deleteWebhookEndpoint({ params: { id } })).toEqual({ id, deleted: true })
    const gone = await Promise.all(
      [admin.getWebhookEndpoint({ params: { id } }), admin.deleteWebhookEndpoint({ params: { id } })].map(
        apiError,
      ),
    )
    for (const error of gone) expect([error.status, error.code]).toEqual([404, 'webhook-endpoint-not-found'])
    const listed = await admin.listWebhookEndpoints({ query: { limit: pageSizeMax } })
    expect(listed.data.map((endpoint) => endpoint.id)).not.toContain(id)
  })

  it('pages newest first with starting_after, and bounds limit on both sides', async () => {
    const store = await createMerchant(pool, { name: 'Paging store' })
    const admin = client(store.apiKey.key)
    const ids: string[] = []
    for (let index = 0; index < 5; index += 1) ids.push((await newEndpoint(store.apiKey.key)).id)
    const all = (await admin.listWebhookEndpoints({ query: { limit: pageSizeMax } })).data.map((e) => e.id)
    expect(all).toEqual([...ids].reverse())
    const seen: string[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await admin.listWebhookEndpoints({
        query: { limit: 2, ...(cursor === undefined ? {} : { starting_after: cursor }) },
      })
      seen.push(...page.data.map((endpoint) => endpoint.id))
      if (!page.has_more) break
      cursor = page.data.at(-1)?.id
    }
    expect(seen).toEqual(all)
    for (const limit of [0, pageSizeMax + 1]) {
      const error = await apiError(admin.listWebhookEndpoints({ query: { limit } }))
      expect([error.status, error.code, paths(error)]).toEqual([422, 'validation-failed', ['query.limit']])
    }
  })
})

describe('validation', () => {
  it('reports every offending input by its wire path', async () => {
    const error = await apiError(
      client(keys.adminA).createWebhookEndpoint({
        body: { url: '', event_filter: ['nope'], description: 'x'.repeat(201), extra: 1 } as never,
      }),
    )
    expect([error.status, error.code]).toEqual([422, 'validation-failed'])
    expect(paths(error)).toEqual(['body.description', 'body.event_filter', 'body.extra', 'body.url'])
    const empty = await apiError(
      client(keys.adminA).updateWebhookEndpoint({ params: { id: missingEndpoint }, body: {} }),
    )
    expect(paths(empty)).toEqual(['body'])
    const badId = await apiError(client(keys.adminA).getWebhookEndpoint({ params: { id: 'whk_nope' } }))
    expect(paths(badId)).toEqual(['params.id'])
  })

  it('refuses bad URLs with webhook-url-invalid or webhook-url-refused at body.url', async () => {
    const admin = client(keys.adminA)
    const cases = [
      ['not a url', 'webhook-url-invalid'],
      ['ftp://hooks.example.com/in', 'webhook-url-invalid'],
      ['http://hooks.example.com/in', 'webhook-url-refused'],
      ['https://169.254.169.254/latest/meta-data', 'webhook-url-refused'],
      ['https://[::]/in', 'webhook-url-refused'],
    ] as const
    for (const [url, code] of cases) {
      const error = await apiError(admin.createWebhookEndpoint({ body: { url, event_filter: '*' } }))
      expect([url, error.status, error.code, paths(error)]).toEqual([url, 422, code, ['body.url']])
    }
    const { id } = await newEndpoint()
    const patched = await apiError(
      admin.updateWebhookEndpoint({ params: { id }, body: { url: 'http://hooks.example.com/' } }),
    )
    expect([patched.code, paths(patched)]).toEqual(['webhook-url-refused', ['body.url']])
    const overlap = await apiError(
      admin.rotateWebhookEndpointSecret({ params: { id }, body: { overlap_seconds: 7 * 86_400 + 1 } }),
    )
    expect([overlap.code, paths(overlap)]).toEqual(['validation-failed', ['body.overlap_seconds']])
  })
})

describe('local receivers', () => {
  it('a gateway that does not allow them refuses an endpoint on its own host or network', async () => {
    // This suite's gateway allows them (its receiver listens on 127.0.0.1); a production one does not.
    const strictApp = await buildApp({ pool, logger: silent, metrics: createMetrics(), networks: [] })
    try {
      for (const url of [receiverUrl(), 'https://10.1.2.3/in']) {
        const response = await strictApp.inject({
          method: 'POST',
          url: '/v1/webhooks',
          headers: { authorization: `Bearer ${keys.adminA}` },
          payload: { url, event_filter: '*' },
        })
        expect([url, response.statusCode, response.json().code]).toEqual([url, 422, 'webhook-url-refused'])
      }
    } finally {
      await strictApp.close()
    }
  })
})

describe('scopes and stores', () => {
  it('needs webhooks:read to read and webhooks:write to change', async () => {
    const { id } = await newEndpoint()
    const noScope = await apiError(client(keys.ledgerA).listWebhookEndpoints())
    expect([noScope.status, noScope.code]).toEqual([403, 'scope-missing'])
    const reader = client(keys.readA)
    expect((await reader.getWebhookEndpoint({ params: { id } })).id).toBe(id)
    expect((await reader.listWebhookDeliveries()).data).toBeDefined()
    const writes = await Promise.all(
      [
        reader.createWebhookEndpoint({ body: { url: receiverUrl(), event_filter: '*' } }),
        reader.updateWebhookEndpoint({ params: { id }, body: { enabled: false } }),
        reader.deleteWebhookEndpoint({ params: { id } }),
        reader.rotateWebhookEndpointSecret({ params: { id } }),
        reader.sendWebhookEndpointTest({ params: { id } }),
        reader.redeliverWebhookDelivery({ params: { id: missingDelivery } }),
      ].map(apiError),
    )
    for (const error of writes) expect([error.status, error.code]).toEqual([403, 'scope-missing'])
  })

  it("answers 404 for another store's endpoint and delivery, exactly as for missing ones", async () => {
    const { id } = await newEndpoint()
    const delivery = await client(keys.adminA).sendWebhookEndpointTest({ params: { id } })
    const other = client(keys.adminB)
    const endpointCalls = (endpointId: string) => [
      other.getWebhookEndpoint({ params: { id: endpointId } }),
      other.updateWebhookEndpoint({ params: { id: endpointId }, body: { enabled: false } }),
      other.deleteWebhookEndpoint({ params: { id: endpointId } }),
      other.rotateWebhookEndpointSecret({ params: { id: endpointId } }),
      other.sendWebhookEndpointTest({ params: { id: endpointId } }),
      other.listWebhookEndpointDeliveries({ params: { id: endpointId } }),
    ]
    const deliveryCalls = (deliveryId: string) => [
      other.getWebhookDelivery({ params: { id: deliveryId } }),
      other.redeliverWebhookDelivery({ params: { id: deliveryId } }),
    ]
    const answers = async (calls: Promise<unknown>[]) =>
      (await Promise.all(calls.map(apiError))).map((error) => [error.status, error.code])
    const foreignEndpoint = await answers(endpointCalls(id))
    expect(foreignEndpoint).toEqual(await answers(endpointCalls(missingEndpoint)))
    expect(new Set(foreignEndpoint.map(String))).toEqual(new Set(['404,webhook-endpoint-not-found']))
    const foreignDelivery = await answers(deliveryCalls(delivery.id))
    expect(foreignDelivery).toEqual(await answers(deliveryCalls(missingDelivery)))
    expect(new Set(foreignDelivery.map(String))).toEqual(new Set(['404,webhook-delivery-not-found']))
    const listedByB = await other.listWebhookDeliveries({ query: { limit: pageSizeMax } })
    expect(listedByB.data.map((listed) => listed.id)).not.toContain(delivery.id)
    const endpointsOfB = await other.listWebhookEndpoints({ query: { limit: pageSizeMax } })
    expect(endpointsOfB.data.map((endpoint) => endpoint.id)).not.toContain(id)
    // Nothing of A's changed.
    expect((await client(keys.adminA).getWebhookEndpoint({ params: { id } })).enabled).toBe(true)
  })
})

describe('deliveries', () => {
  it('delivers a test event signed with the secret shown at creation, and logs the attempt', async () => {
    const admin = client(keys.adminA)
    const created = await newEndpoint(keys.adminA, 'signed')
    const before = receiver.received.length
    const pending = await admin.sendWebhookEndpointTest({ params: { id: created.id } })
    expect(pending).toMatchObject({ endpoint_id: created.id, event_type: 'webhook.test', series: 1 })
    await until(
      async () => (await admin.getWebhookDelivery({ params: { id: pending.id } })).status === 'delivered',
    )
    const request = receiver.received.slice(before).find((r) => r.headers['webhook-id'] === pending.event_id)
    if (request === undefined) throw new Error('the receiver got no request for the test event')
    const verified = new Webhook(created.secret ?? '').verify(request.body, request.headers)
    expect(verified).toMatchObject({ id: pending.event_id, type: 'webhook.test' })
    const delivered = await admin.getWebhookDelivery({ params: { id: pending.id } })
    expect(delivered).toMatchObject({ status: 'delivered', attempt_count: 1, last_status_code: 200 })
    expect(delivered.attempts).toHaveLength(1)
    expect(delivered.attempts[0]).toMatchObject({ series: 1, attempt: 1, status_code: 200, error: null })
    expect(delivered.attempts[0]?.duration_ms).toBeGreaterThanOrEqual(0)
    expect(Date.parse(delivered.attempts[0]?.started_at ?? '')).toBeGreaterThan(Date.now() - 60_000)
  })

  it('logs failed attempts, retries, and redelivers with the same webhook-id', async () => {
    const admin = client(keys.adminA)
    const { id } = await newEndpoint(keys.adminA, 'flaky')
    receiver.answers.set('/flaky', [500])
    const pending = await admin.sendWebhookEndpointTest({ params: { id } })
    await until(
      async () => (await admin.getWebhookDelivery({ params: { id: pending.id } })).status === 'delivered',
    )
    const retried = await admin.getWebhookDelivery({ params: { id: pending.id } })
    expect(retried.attempts.map((attempt) => [attempt.attempt, attempt.status_code])).toEqual([
      [2, 200],
      [1, 500],
    ])
    const again = await admin.redeliverWebhookDelivery({ params: { id: pending.id } })
    expect([again.status, again.series, again.attempt_count]).toEqual(['pending', 2, 0])
    await until(
      async () => (await admin.getWebhookDelivery({ params: { id: pending.id } })).status === 'delivered',
    )
    const log = await admin.getWebhookDelivery({ params: { id: pending.id } })
    expect(log.attempts.map((attempt) => [attempt.series, attempt.attempt])).toEqual([
      [2, 1],
      [1, 2],
      [1, 1],
    ])
    const ids = receiver.received.filter((r) => r.headers['webhook-id'] === pending.event_id)
    expect(ids).toHaveLength(3)
  })

  it("shows why no answer came as a class with a fixed message, never the receiver's address or port", async () => {
    const admin = client(keys.adminA)
    const closedPort = await findFreePort()
    const { id } = await admin.createWebhookEndpoint({
      body: { url: `https://127.0.0.1:${closedPort}/gone`, event_filter: '*' },
    })
    const pending = await admin.sendWebhookEndpointTest({ params: { id } })
    await until(
      async () => (await admin.getWebhookDelivery({ params: { id: pending.id } })).attempt_count >= 1,
    )
    const failed = await admin.getWebhookDelivery({ params: { id: pending.id } })
    expect([failed.last_status_code, failed.last_error]).toEqual([null, 'connection-refused'])
    const first = failed.attempts.at(-1)
    expect([first?.status_code, first?.error]).toEqual([null, 'connection-refused'])
    expect(webhookDeliveryErrors['connection-refused']).toBe('The receiver refused the connection.')
    const served = await (
      await fetch(`${baseUrl}/v1/webhook-deliveries/${pending.id}`, {
        headers: { authorization: `Bearer ${keys.adminA}` },
      })
    ).text()
    expect(served).toContain('"last_error":"connection-refused"')
    expect(served).not.toContain(String(closedPort))
    expect(served).not.toContain('ECONNREFUSED')
    await admin.updateWebhookEndpoint({ params: { id }, body: { enabled: false } })
  })

  it('rotates the secret: shown once, and the next delivery is signed with it', async () => {
    const admin = client(keys.adminA)
    const created = await newEndpoint(keys.adminA, 'rotated')
    const idempotencyKey = randomUUID()
    const rotation = { params: { id: created.id }, body: { overlap_seconds: 0 }, idempotencyKey }
    const rotated = await admin.send(apiContract.rotateWebhookEndpointSecret, rotation)
    expect(rotated.data.secret).toMatch(/^whsec_/)
    expect(rotated.data.secret).not.toBe(created.secret)
    expect(rotated.data.previous_secret_expires_at).toBeNull()
    const replay = await admin.send(apiContract.rotateWebhookEndpointSecret, rotation)
    expect([replay.replayed, replay.data.secret]).toEqual([true, null])
    const pending = await admin.sendWebhookEndpointTest({ params: { id: created.id } })
    await until(
      async () => (await admin.getWebhookDelivery({ params: { id: pending.id } })).status === 'delivered',
    )
    const request = receiver.received.find((r) => r.headers['webhook-id'] === pending.event_id)
    if (request === undefined) throw new Error('no request')
    expect(new Webhook(rotated.data.secret ?? '').verify(request.body, request.headers)).toBeDefined()
    expect(() => new Webhook(created.secret ?? '').verify(request.body, request.headers)).toThrow()
    const overlapping = await admin.rotateWebhookEndpointSecret({ params: { id: created.id } })
    const expires = Date.parse(overlapping.previous_secret_expires_at ?? '')
    expect(Math.abs(expires - Date.now() - 86_400_000)).toBeLessThan(60_000)
  })

  it('fans a domain event out to matching endpoints; lists filter by event, status and endpoint', async () => {
    const store = await createMerchant(pool, { name: 'Fan-out store' })
    const admin = client(store.apiKey.key)
    const invoices = await admin.createWebhookEndpoint({
      body: { url: receiverUrl('invoices'), event_filter: ['invoice.settled'] },
    })
    const payouts = await admin.createWebhookEndpoint({
      body: { url: receiverUrl('payouts'), event_filter: ['payout.sent'] },
    })
    const event = await withTransaction(pool, (db) =>
      recordEvent(db, {
        type: 'invoice.settled',
        merchantId: store.merchant.id,
        subjectId: null,
        payload: {},
      }),
    )
    const byEvent = async () => await admin.listWebhookDeliveries({ query: { event_id: event.id } })
    await until(async () => (await byEvent()).data.some((delivery) => delivery.status === 'delivered'))
    expect((await byEvent()).data.map((delivery) => [delivery.endpoint_id, delivery.event_type])).toEqual([
      [invoices.id, 'invoice.settled'],
    ])
    const ofPayouts = await admin.listWebhookEndpointDeliveries({ params: { id: payouts.id } })
    expect(ofPayouts).toEqual({ data: [], has_more: false })
    const delivered = await admin.listWebhookEndpointDeliveries({
      params: { id: invoices.id },
      query: { status: 'delivered', event_id: event.id },
    })
    expect(delivered.data).toHaveLength(1)
    const dead = await admin.listWebhookDeliveries({ query: { status: 'dead' } })
    expect(dead.data).toEqual([])
  })

  it('pages deliveries newest first, and bounds limit on both sides on both lists', async () => {
    const store = await createMerchant(pool, { name: 'Delivery paging store' })
    const admin = client(store.apiKey.key)
    const { id } = await newEndpoint(store.apiKey.key)
    const sent: string[] = []
    for (let index = 0; index < 5; index += 1)
      sent.push((await admin.sendWebhookEndpointTest({ params: { id } })).id)
    const lists = [
      (query: { limit: number; starting_after?: string }) => admin.listWebhookDeliveries({ query }),
      (query: { limit: number; starting_after?: string }) =>
        admin.listWebhookEndpointDeliveries({ params: { id }, query }),
    ]
    for (const list of lists) {
      expect((await list({ limit: pageSizeMax })).data.map((delivery) => delivery.id)).toEqual(
        [...sent].reverse(),
      )
      const seen: string[] = []
      let cursor: string | undefined
      for (;;) {
        const page = await list({ limit: 2, ...(cursor === undefined ? {} : { starting_after: cursor }) })
        seen.push(...page.data.map((delivery) => delivery.id))
        if (!page.has_more) break
        cursor = page.data.at(-1)?.id
      }
      expect(seen).toEqual([...sent].reverse())
      for (const limit of [0, pageSizeMax + 1]) {
        const error = await apiError(list({ limit }))
        expect([error.status, paths(error)]).toEqual([422, ['query.limit']])
      }
      const cursorError = await apiError(list({ limit: 1, starting_after: 'whd_nope' }))
      expect(paths(cursorError)).toEqual(['query.starting_after'])
    }
  })
})

describe('OpenAPI', () => {
  it('documents every webhook operation with its error codes', async () => {
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument
    const operations = apiOperations.filter((operation) => operation.tags.includes('webhooks'))
    expect(operations).toHaveLength(11)
    for (const operation of operations) {
      const path = operation.path.replace(/:([a-z_]+)/g, '{$1}')
      const documented = document.paths[path]?.[operation.method.toLowerCase()] as
        | { operationId: string; responses: Record<string, { content: Record<string, { schema: unknown }> }> }
        | undefined
      expect(documented?.operationId, `${operation.method} ${path}`).toBe(operation.operationId)
      for (const spec of operationErrors(operation)) {
        const schema = documented?.responses[String(spec.status)]?.content['application/json']?.schema
        expect(JSON.stringify(schema), `${operation.operationId} ${spec.code}`).toContain(`"${spec.code}"`)
      }
    }
    const create = document.paths['/v1/webhooks']?.post as { responses: Record<string, unknown> }
    expect(JSON.stringify(create.responses['422'])).toContain('webhook-url-refused')
  })
})
