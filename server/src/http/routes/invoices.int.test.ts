import { randomBytes, randomUUID } from 'node:crypto'
import type { createInvoice } from '@sluice/sdk/api/invoices'
import { createSluiceClient, type SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { spyOnBatches } from '../../../test/setup/batch-spy.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { apiError } from '../../../test/setup/e2e.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { limits } from '../../config/limits.ts'
import { createLogger } from '../../lib/logger.ts'
import { deriveEvmAddress } from '../../modules/keys/key.hd.ts'
import { createRawMasterKeyProvider } from '../../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../modules/keys/key.service.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { depositAddressLimits } from '../../modules/payments/deposit-address.limits.ts'
import { refillDepositAddressPool } from '../../modules/payments/deposit-address.service.ts'
import { buildApp } from '../app.ts'
import { httpLimits } from '../http.limits.ts'
import { createMetrics } from '../metrics.ts'

// POST /v1/invoices in one statement (docs/adr/0022): an address held by the process, the idempotency
// claim, the invoice and its stored response commit together or not at all, and nothing is lost or
// doubled on the paths around it (replay, reuse, refusal, concurrent duplicates, a failing write).
const network = offlineNetwork({
  name: 'testnet',
  tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  confirmations: 2,
})

let database: TestDatabase
let app: FastifyInstance
let baseUrl = ''
let merchantId = ''
let apiKey = ''
const provider = createRawMasterKeyProvider(randomBytes(32))
const metrics = createMetrics()

/** The app's batched-write metrics for invoice creation: statements committed, their requests, failures. */
async function batchedWriteFigures() {
  const sizes = await metrics.batchedWriteRequests.get()
  const of = (name: string) =>
    sizes.values.find((entry) => entry.metricName === name && entry.labels.operation === 'createInvoice')
      ?.value ?? 0
  const failures = await metrics.batchedWriteFailures.get()
  return {
    statements: of('sluice_batched_write_requests_count'),
    requests: of('sluice_batched_write_requests_sum'),
    failures: failures.values.find((entry) => entry.labels.operation === 'createInvoice')?.value ?? 0,
  }
}

type CreateInvoiceBody = z.input<typeof createInvoice.body>

const client = (key = apiKey): SluiceClient => createSluiceClient({ baseUrl, apiKey: key })
const create = (body: CreateInvoiceBody, idempotencyKey: string = randomUUID()) =>
  client().createInvoice({ body, idempotencyKey })

async function count(sql: string, values: unknown[] = [merchantId]): Promise<number> {
  const result = await database.pool.query<{ count: number }>(sql, values)
  return result.rows[0]?.count ?? -1
}
const pooled = () => count('select count(*)::int as count from deposit_address_pool where merchant_id = $1')
const invoices = () => count('select count(*)::int as count from invoices where merchant_id = $1')

/** Lets the route's background fetch of held addresses finish (it takes them out of the pool). */
async function untilPoolSettles(): Promise<number> {
  let last = await pooled()
  for (let round = 0; round < 50; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const now = await pooled()
    if (now === last) return now
    last = now
  }
  return last
}

beforeAll(async () => {
  database = await createTestDatabase()
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'One Statement Store' })
  merchantId = store.merchant.id
  apiKey = store.apiKey.key
  await exportAccountXpub(database.pool, provider, merchantId)
  await refillDepositAddressPool(database.pool, merchantId)
  app = await buildApp({
    pool: database.pool,
    logger: createLogger('silent'),
    metrics,
    networks: [network],
    api: { assertResponses: true, rateLimit: { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 } },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  baseUrl = `http://127.0.0.1:${address.port}`
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('POST /v1/invoices in one statement', () => {
  it('takes addresses held by the process: once they are held, creating invoices leaves the pool alone', async () => {
    const before = await pooled()
    const first = await create({ amount: '1', currency: 'USDT' })
    const afterFirst = await untilPoolSettles()
    // The first request found nothing held: it took one from the pool alone, and the process a batch.
    expect(before - afterFirst).toBe(1 + depositAddressLimits.reserveMin)
    const second = await create({ amount: '2', currency: 'USDT' })
    const third = await create({ amount: '3', currency: 'USDT' })
    expect(await pooled()).toBe(afterFirst)
    const addresses = [first, second, third].map((invoice) => invoice.payment_options[0]?.address)
    expect(new Set(addresses).size).toBe(3)
    // Each read back exactly as it was answered.
    for (const invoice of [second, third]) {
      expect(await client().getInvoice({ params: { id: invoice.id } })).toEqual(invoice)
      expect(
        await count('select count(*)::int as count from deposit_addresses where owner_id = $1', [invoice.id]),
      ).toBe(1)
    }
  })

  it('replays the stored response for the same key and body, and refuses another body', async () => {
    await create({ amount: '1', currency: 'USDT' })
    const key = randomUUID()
    const body = { amount: '4.5', currency: 'USDT', order_id: 'replay-4.5' }
    const created = await create(body, key)
    const invoicesBefore = await invoices()
    const response = await fetch(`${baseUrl}/v1/invoices`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
    })
    expect(response.status).toBe(201)
    expect(response.headers.get('idempotent-replayed')).toBe('true')
    expect(await response.json()).toEqual(created)
    const reused = await apiError(create({ ...body, amount: '4.6' }, key))
    expect([reused.status, reused.code]).toEqual([422, 'idempotency-key-reused'])
    expect(await invoices()).toBe(invoicesBefore)
  })

  it('stores a refusal under the key, as the two-step path does', async () => {
    const key = randomUUID()
    const refused = await apiError(create({ amount: '1.0000001', currency: 'USDT' }, key))
    expect([refused.status, refused.code]).toEqual([422, 'amount-precision-exceeded'])
    const again = await apiError(create({ amount: '1.0000001', currency: 'USDT' }, key))
    expect([again.status, again.code]).toEqual([422, 'amount-precision-exceeded'])
    expect(
      await count(
        'select count(*)::int as count from idempotency_keys where key = $1 and response_status = 422',
        [key],
      ),
    ).toBe(1)
  })

  it('runs concurrent duplicates once: one invoice, the others see it in progress or replay it', async () => {
    await create({ amount: '1', currency: 'USDT' })
    const key = randomUUID()
    const body = { amount: '7', currency: 'USDT', order_id: 'concurrent-7' }
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => create(body, key)))
    const ids = new Set(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.id] : [])))
    for (const result of results) {
      if (result.status === 'rejected')
        expect((result.reason as SluiceApiError).code).toBe('idempotency-key-in-progress')
    }
    expect(ids.size).toBe(1)
    expect(
      await count(
        "select count(*)::int as count from invoices where merchant_id = $1 and order_id = 'concurrent-7'",
      ),
    ).toBe(1)
  })

  it('writes nothing when the statement fails, and a retry with the same key creates the invoice', async () => {
    await create({ amount: '1', currency: 'USDT' })
    await database.pool.query(
      "alter table invoices add constraint test_refuse check (description is distinct from 'refuse me')",
    )
    const key = randomUUID()
    const body = { amount: '8', currency: 'USDT', description: 'refuse me' }
    const addressesBefore = await count(
      'select count(*)::int as count from deposit_addresses where merchant_id = $1',
    )
    try {
      const failed = await apiError(create(body, key))
      expect(failed.status).toBe(500)
      expect(await count('select count(*)::int as count from idempotency_keys where key = $1', [key])).toBe(0)
      expect(await count('select count(*)::int as count from deposit_addresses where merchant_id = $1')).toBe(
        addressesBefore,
      )
    } finally {
      await database.pool.query('alter table invoices drop constraint test_refuse')
    }
    const created = await create(body, key)
    expect(created.description).toBe('refuse me')
    expect(await count('select count(*)::int as count from idempotency_keys where key = $1', [key])).toBe(1)
  })

  it('batches concurrent requests into shared statements, each written once and read back as answered', async () => {
    await create({ amount: '1', currency: 'USDT' })
    const before = await batchedWriteFigures()
    const spy = spyOnBatches()
    const duplicateKey = randomUUID()
    const bodies = Array.from({ length: 40 }, (_, index) => ({
      amount: `${index + 1}`,
      currency: 'USDT',
      order_id: `batch-${index}`,
    }))
    let results: PromiseSettledResult<Awaited<ReturnType<typeof create>>>[]
    try {
      results = await Promise.allSettled([
        ...bodies.map((body) => create(body)),
        ...Array.from({ length: 3 }, () => create({ amount: '99', currency: 'USDT' }, duplicateKey)),
      ])
    } finally {
      spy.restore()
    }
    const created = results.slice(0, 40).map((result) => {
      if (result.status === 'rejected') throw result.reason
      return result.value
    })
    expect(created.map((invoice) => invoice.order_id)).toEqual(bodies.map((body) => body.order_id))
    expect(new Set(created.map((invoice) => invoice.payment_options[0]?.address)).size).toBe(40)
    // Fewer statements than requests: some carried several (lib/batcher.ts), none a key twice.
    expect(spy.batches.length).toBeLessThan(43)
    expect(Math.max(...spy.batches.map((keys) => keys.length))).toBeGreaterThan(1)
    for (const keys of spy.batches) expect(new Set(keys).size).toBe(keys.length)
    // The metrics say the same: every committed statement and its requests, no failure.
    const figures = await batchedWriteFigures()
    expect(figures.requests - before.requests).toBe(spy.batches.flat().length)
    expect(figures.statements - before.statements).toBe(spy.batches.length)
    expect(figures.failures).toBe(before.failures)
    for (const invoice of created.slice(0, 5))
      expect(await client().getInvoice({ params: { id: invoice.id } })).toEqual(invoice)
    const duplicates = results.slice(40)
    const duplicateIds = new Set(
      duplicates.flatMap((result) => (result.status === 'fulfilled' ? [result.value.id] : [])),
    )
    expect(duplicateIds.size).toBe(1)
    for (const result of duplicates)
      if (result.status === 'rejected')
        expect((result.reason as SluiceApiError).code).toBe('idempotency-key-in-progress')
    expect(
      await count(
        "select count(*)::int as count from invoices where merchant_id = $1 and order_id like 'batch-%'",
      ),
    ).toBe(40)
  })

  it('fails only the request whose write fails when it shared a statement with others', async () => {
    await create({ amount: '1', currency: 'USDT' })
    await database.pool.query(
      "alter table invoices add constraint test_refuse_in_batch check (description is distinct from 'refuse me too')",
    )
    const failuresBefore = (await batchedWriteFigures()).failures
    const spy = spyOnBatches({ holdFirst: httpLimits.oneStatementBatchesInFlightMax })
    const badKey = randomUUID()
    try {
      // The first statements are held, so the requests after them wait and go together.
      const blockers = Array.from({ length: httpLimits.oneStatementBatchesInFlightMax }, (_, index) =>
        create({ amount: '1', currency: 'USDT', order_id: `blocker-${index}` }),
      )
      await spy.held
      const first = create({ amount: '2', currency: 'USDT', order_id: 'queued-0' })
      const failed = apiError(create({ amount: '3', currency: 'USDT', description: 'refuse me too' }, badKey))
      const second = create({ amount: '4', currency: 'USDT', order_id: 'queued-1' })
      await new Promise((resolve) => setTimeout(resolve, 300))
      spy.release()
      await Promise.all(blockers)
      expect([(await first).order_id, (await second).order_id]).toEqual(['queued-0', 'queued-1'])
      expect((await failed).status).toBe(500)
    } finally {
      spy.restore()
      await database.pool.query('alter table invoices drop constraint test_refuse_in_batch')
    }
    // It was tried with the others, then alone; only it failed, and it left nothing behind.
    expect(spy.batches.some((keys) => keys.includes(badKey) && keys.length > 1)).toBe(true)
    expect(spy.batches.some((keys) => keys.length === 1 && keys[0] === badKey)).toBe(true)
    expect((await batchedWriteFigures()).failures - failuresBefore).toBe(2) // the shared one, then its own
    expect(await count('select count(*)::int as count from idempotency_keys where key = $1', [badKey])).toBe(
      0,
    )
    expect(
      await count(
        "select count(*)::int as count from invoices where merchant_id = $1 and order_id in ('queued-0', 'queued-1')",
      ),
    ).toBe(2)
  })

  it('with an empty pool, derives the next index outside any transaction and still writes in one statement', async () => {
    const store = await createMerchant(database.pool, { name: 'Empty Pool Store' })
    const { xpub } = await exportAccountXpub(database.pool, provider, store.merchant.id)
    const owner = [store.merchant.id]
    const created = await Promise.all(
      ['1', '2', '3'].map((amount) =>
        client(store.apiKey.key).createInvoice({
          body: { amount, currency: 'USDT' },
          idempotencyKey: randomUUID(),
        }),
      ),
    )
    const expected = [0, 1, 2].map((index) => deriveEvmAddress(xpub, index).toLowerCase())
    expect(created.map((invoice) => invoice.payment_options[0]?.address).sort()).toEqual(expected.sort())
    expect(
      await count('select next_index as count from hd_index_counters where merchant_id = $1', owner),
    ).toBe(3)
    expect(await count('select count(*)::int as count from invoices where merchant_id = $1', owner)).toBe(3)
    // Each key stored once, with the response it was answered with.
    expect(
      await count(
        'select count(*)::int as count from idempotency_keys where merchant_id = $1 and response_status = 201',
        owner,
      ),
    ).toBe(3)
    expect(
      await count(
        "select count(*)::int as count from jobs where kind = 'refill-deposit-address-pool' and payload->>'merchant_id' = $1",
        owner,
      ),
    ).toBe(1)
  })

  it('loses no address: after close, every handed-out index is an invoice address or back in the pool', async () => {
    await app.close()
    const handedOut = await count('select next_index as count from hd_index_counters where merchant_id = $1')
    const used = await count('select count(*)::int as count from deposit_addresses where merchant_id = $1')
    // The two failing requests above dropped their addresses on purpose (they may be why the writes
    // failed); the requests that shared a failed statement with one of them kept theirs.
    expect(used + (await pooled())).toBe(handedOut - 2)
  })
})

describe('API keys trusted for a moment', () => {
  it('refuses a key revoked by another process once limits.apiKeyTrustMs has passed', async () => {
    const issued = await issueApiKey(database.pool, {
      merchantId,
      label: 'revoked elsewhere',
      scopes: ['invoices:read'],
    })
    const other = await buildApp({
      pool: database.pool,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      networks: [network],
    })
    try {
      const ok = await other.inject({
        url: '/v1/invoices',
        headers: { authorization: `Bearer ${issued.key}` },
      })
      expect(ok.statusCode).toBe(200)
      // Revoked behind this process's back (another API process, or an operator's SQL).
      await database.pool.query('update api_keys set revoked_at = now() where id = $1', [issued.apiKeyId])
      await new Promise((resolve) => setTimeout(resolve, limits.apiKeyTrustMs + 50))
      const refused = await other.inject({
        url: '/v1/invoices',
        headers: { authorization: `Bearer ${issued.key}` },
      })
      expect([refused.statusCode, refused.json().code]).toEqual([401, 'api-key-invalid'])
    } finally {
      await other.close()
    }
  })
})
