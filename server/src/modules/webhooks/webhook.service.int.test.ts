import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { limits } from '../../config/limits.ts'
import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { isAppError } from '../../lib/errors.ts'
import { recordEvent } from '../events/event.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { webhookLimits } from './webhook.limits.ts'
import {
  createEndpoint,
  deleteEndpoint,
  getDelivery,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  redeliver,
  rotateSecret,
  sendTest,
  updateEndpoint,
} from './webhook.service.ts'
import type { ResolveHost } from './webhook.types.ts'
import { deliverWebhookJobKind, fanOutEvent } from './webhook-dispatch.service.ts'

let database: TestDatabase
let pool: Pool

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
})
afterAll(async () => {
  await database.drop()
})

const publicHost: ResolveHost = async () => ['93.184.215.14']
const options = { resolveHost: publicHost }
const url = 'https://shop.example/hooks'

async function newMerchant(): Promise<string> {
  return (await createMerchant(pool, { name: 'webhook service store' })).merchant.id
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'ok'
  } catch (error) {
    if (isAppError(error)) return error.code
    throw error
  }
}

async function recordAndFanOut(merchantId: string) {
  const event = await withTransaction(pool, (client) =>
    recordEvent(client, {
      type: 'invoice.settled',
      merchantId,
      subjectId: 'inv_1',
      payload: { amount: '5' },
    }),
  )
  return { event, deliveries: await fanOutEvent(pool, event) }
}

describe('webhook endpoints', () => {
  it('are created with a secret shown once, never part of the endpoint afterwards', async () => {
    const merchantId = await newMerchant()
    const { endpoint, secret } = await createEndpoint(
      pool,
      { merchantId, url, eventFilter: ['payment.finalized', 'payment.finalized'], description: 'orders' },
      options,
    )
    expect(secret).toMatch(/^whsec_/)
    expect(endpoint).toMatchObject({
      merchantId,
      url,
      description: 'orders',
      eventFilter: ['payment.finalized'],
      enabled: true,
      allowInsecure: false,
    })
    expect(endpoint.id).toMatch(/^whk_/)
    const shown = [
      endpoint,
      await getEndpoint(pool, { merchantId, endpointId: endpoint.id }),
      await listEndpoints(pool, merchantId),
    ]
    expect(JSON.stringify(shown)).not.toContain(secret.slice('whsec_'.length, 30))
  })

  it('refuse insecure and SSRF-prone URLs, unknown event types and long descriptions', async () => {
    const merchantId = await newMerchant()
    const metadata: ResolveHost = async () => ['169.254.169.254']
    const create = (input: Record<string, unknown>, resolveHost: ResolveHost = publicHost) =>
      codeOf(createEndpoint(pool, { merchantId, url, eventFilter: '*', ...input }, { resolveHost }))
    expect(await create({ url: 'http://127.0.0.1:9/hook' })).toBe('webhook-url-refused')
    expect(await create({ url: 'http://127.0.0.1:9/hook', allowInsecure: true })).toBe('ok')
    expect(await create({ url: 'https://metadata.example/' }, metadata)).toBe('webhook-url-refused')
    expect(await create({ url: 'not a url' })).toBe('webhook-url-invalid')
    expect(await create({ eventFilter: ['payment.finalised'] })).toBe('webhook-event-filter-invalid')
    expect(await create({ eventFilter: [] })).toBe('webhook-event-filter-invalid')
    expect(await create({ description: 'd'.repeat(webhookLimits.descriptionLengthMax) })).toBe('ok')
    expect(await create({ description: 'd'.repeat(webhookLimits.descriptionLengthMax + 1) })).toBe(
      'validation-failed',
    )
    const starred = await createEndpoint(
      pool,
      { merchantId, url, eventFilter: ['invoice.settled', '*'] as never },
      options,
    )
    expect(starred.endpoint.eventFilter).toBe('*')
  })

  it('are bounded per store: the maximum is accepted, one more is refused, other stores unaffected', async () => {
    const merchantId = await newMerchant()
    const results = await Promise.all(
      Array.from({ length: webhookLimits.endpointsPerMerchantMax + 1 }, () =>
        codeOf(createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)),
      ),
    )
    expect(results.filter((code) => code === 'ok')).toHaveLength(webhookLimits.endpointsPerMerchantMax)
    expect(results.filter((code) => code === 'webhook-endpoints-limit-reached')).toHaveLength(1)
    expect(await listEndpoints(pool, merchantId)).toHaveLength(webhookLimits.endpointsPerMerchantMax)
    expect(
      await codeOf(createEndpoint(pool, { merchantId: await newMerchant(), url, eventFilter: '*' }, options)),
    ).toBe('ok')
  })

  it('update filter, URL and enablement; other stores cannot see or change them', async () => {
    const merchantId = await newMerchant()
    const { endpoint } = await createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)
    const endpointId = endpoint.id
    const changed = await updateEndpoint(
      pool,
      { merchantId, endpointId, eventFilter: ['invoice.expired'], url: 'https://shop.example/v2' },
      options,
    )
    expect(changed).toMatchObject({
      eventFilter: ['invoice.expired'],
      url: 'https://shop.example/v2',
      enabled: true,
    })
    const off = await updateEndpoint(pool, { merchantId, endpointId, enabled: false }, options)
    expect(off).toMatchObject({ enabled: false, disabledReason: 'manual' })
    expect(off.disabledAt).toBeInstanceOf(Date)
    expect(await updateEndpoint(pool, { merchantId, endpointId, enabled: true }, options)).toMatchObject({
      enabled: true,
      disabledReason: null,
      disabledAt: null,
    })
    expect(
      await codeOf(updateEndpoint(pool, { merchantId, endpointId, url: 'http://shop.example/' }, options)),
    ).toBe('webhook-url-refused')
    const stranger = await newMerchant()
    expect(await codeOf(getEndpoint(pool, { merchantId: stranger, endpointId }))).toBe(
      'webhook-endpoint-not-found',
    )
    expect(
      await codeOf(updateEndpoint(pool, { merchantId: stranger, endpointId, enabled: false }, options)),
    ).toBe('webhook-endpoint-not-found')
    expect(await codeOf(deleteEndpoint(pool, { merchantId: stranger, endpointId }))).toBe(
      'webhook-endpoint-not-found',
    )
    expect(await codeOf(rotateSecret(pool, { merchantId: stranger, endpointId }))).toBe(
      'webhook-endpoint-not-found',
    )
  })

  it('delete with their delivery history; queued jobs then find nothing', async () => {
    const merchantId = await newMerchant()
    const { endpoint } = await createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)
    const { deliveries } = await recordAndFanOut(merchantId)
    expect(deliveries).toHaveLength(1)
    await deleteEndpoint(pool, { merchantId, endpointId: endpoint.id })
    expect(await codeOf(deleteEndpoint(pool, { merchantId, endpointId: endpoint.id }))).toBe(
      'webhook-endpoint-not-found',
    )
    expect(await codeOf(getDelivery(pool, { merchantId, deliveryId: deliveries[0]?.id ?? '' }))).toBe(
      'webhook-delivery-not-found',
    )
  })

  it('rotate secrets with a bounded overlap', async () => {
    const merchantId = await newMerchant()
    const created = await createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)
    const now = new Date('2026-05-01T00:00:00Z')
    const endpointId = created.endpoint.id
    const rotated = await rotateSecret(
      pool,
      { merchantId, endpointId, overlapMs: 3_600_000 },
      { now: () => now },
    )
    expect(rotated.secret).not.toBe(created.secret)
    expect(rotated.endpoint.previousSecretExpiresAt?.toISOString()).toBe('2026-05-01T01:00:00.000Z')
    const immediate = await rotateSecret(pool, { merchantId, endpointId, overlapMs: 0 })
    expect(immediate.endpoint.previousSecretExpiresAt).toBeNull()
    const defaulted = await rotateSecret(pool, { merchantId, endpointId }, { now: () => now })
    expect(defaulted.endpoint.previousSecretExpiresAt?.getTime()).toBe(
      now.getTime() + webhookLimits.secretRotationOverlapMsDefault,
    )
    const max = webhookLimits.secretRotationOverlapMsMax
    expect(await codeOf(rotateSecret(pool, { merchantId, endpointId, overlapMs: max }))).toBe('ok')
    expect(await codeOf(rotateSecret(pool, { merchantId, endpointId, overlapMs: max + 1 }))).toBe(
      'webhook-rotation-overlap-invalid',
    )
    expect(await codeOf(rotateSecret(pool, { merchantId, endpointId, overlapMs: -1 }))).toBe(
      'webhook-rotation-overlap-invalid',
    )
  })
})

describe('webhook deliveries', () => {
  it('fan out once per matching endpoint, however often the fan-out runs', async () => {
    const merchantId = await newMerchant()
    await createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)
    await createEndpoint(pool, { merchantId, url, eventFilter: ['invoice.settled'] }, options)
    await createEndpoint(pool, { merchantId, url, eventFilter: ['payment.held'] }, options)
    const { event, deliveries } = await recordAndFanOut(merchantId)
    expect(deliveries).toHaveLength(2)
    expect(await fanOutEvent(pool, event)).toEqual([])
    const jobs = await pool.query<{ dedupe_key: string }>(
      "select dedupe_key from jobs where kind = $1 and payload->>'deliveryId' = any($2)",
      [deliverWebhookJobKind, deliveries.map((delivery) => delivery.id)],
    )
    expect(jobs.rows).toHaveLength(2)
  })

  it('list newest first in bounded pages with a cursor', async () => {
    const merchantId = await newMerchant()
    const { endpoint } = await createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)
    const created: string[] = []
    for (let index = 0; index < 25; index += 1)
      created.push(...(await recordAndFanOut(merchantId)).deliveries.map((d) => d.id))
    const seen: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < 5; page += 1) {
      const result = await listDeliveries(pool, {
        merchantId,
        endpointId: endpoint.id,
        limit: 10,
        ...(cursor === undefined ? {} : { cursor }),
      })
      seen.push(...result.deliveries.map((delivery) => delivery.id))
      if (result.nextCursor === null) break
      cursor = result.nextCursor
    }
    expect(seen).toEqual([...created].sort().reverse())
    expect((await listDeliveries(pool, { merchantId })).deliveries).toHaveLength(limits.pageSizeDefault)
    expect((await listDeliveries(pool, { merchantId, status: 'delivered' })).deliveries).toHaveLength(0)
    expect((await listDeliveries(pool, { merchantId: await newMerchant() })).deliveries).toHaveLength(0)
    expect(await codeOf(listDeliveries(pool, { merchantId, limit: limits.pageSizeMax }))).toBe('ok')
    expect(await codeOf(listDeliveries(pool, { merchantId, limit: limits.pageSizeMax + 1 }))).toBe(
      'validation-failed',
    )
    expect(await codeOf(listDeliveries(pool, { merchantId, limit: 0 }))).toBe('validation-failed')
    expect(await codeOf(listDeliveries(pool, { merchantId, cursor: "x' or 1=1" }))).toBe('validation-failed')
  })

  it('refuse redelivery and tests to disabled endpoints, and redelivery past seriesPerDeliveryMax', async () => {
    const merchantId = await newMerchant()
    const { endpoint } = await createEndpoint(pool, { merchantId, url, eventFilter: '*' }, options)
    const { deliveries } = await recordAndFanOut(merchantId)
    const deliveryId = deliveries[0]?.id ?? ''
    await pool.query('update webhook_deliveries set series = $2 where id = $1', [
      deliveryId,
      webhookLimits.seriesPerDeliveryMax - 1,
    ])
    expect((await redeliver(pool, { merchantId, deliveryId })).series).toBe(
      webhookLimits.seriesPerDeliveryMax,
    )
    expect(await codeOf(redeliver(pool, { merchantId, deliveryId }))).toBe('webhook-redelivery-limit-reached')
    await updateEndpoint(pool, { merchantId, endpointId: endpoint.id, enabled: false }, options)
    expect(await codeOf(redeliver(pool, { merchantId, deliveryId }))).toBe('webhook-endpoint-disabled')
    expect(await codeOf(sendTest(pool, { merchantId, endpointId: endpoint.id }))).toBe(
      'webhook-endpoint-disabled',
    )
    expect(await codeOf(redeliver(pool, { merchantId: await newMerchant(), deliveryId }))).toBe(
      'webhook-delivery-not-found',
    )
  })
})
