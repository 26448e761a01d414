import { randomBytes, randomUUID } from 'node:crypto'
import type { createInvoice } from '@sluice/sdk/api/invoices'
import { createSluiceClient, type SluiceApiError } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { type BatchSpy, spyOnBatches } from '../../test/setup/batch-spy.ts'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { apiError } from '../../test/setup/e2e.ts'
import { offlineNetwork } from '../../test/setup/offline-network.ts'
import { createLogger } from '../lib/logger.ts'
import { invoiceCreationWrite } from '../modules/invoices/invoice.service.ts'
import { createRawMasterKeyProvider } from '../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../modules/keys/key.service.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { refillDepositAddressPool } from '../modules/payments/deposit-address.service.ts'
import { buildApp } from './app.ts'
import { httpLimits } from './http.limits.ts'
import { claimWithWrites, hashIdempotentRequest } from './idempotency.ts'
import { createMetrics } from './metrics.ts'

// Batched one-statement invoice writes (docs/adr/0028): what sharing a statement must not change.
const network = offlineNetwork({
  name: 'testnet',
  tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  confirmations: 2,
})
const provider = createRawMasterKeyProvider(randomBytes(32))

type Body = z.input<typeof createInvoice.body>
type Store = { merchantId: string; apiKey: string }
type Started = { app: FastifyInstance; baseUrl: string }

let database: TestDatabase
let started: Started
let first: Store
let second: Store

async function newStore(name: string): Promise<Store> {
  const store = await createMerchant(database.pool, { name })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  await refillDepositAddressPool(database.pool, store.merchant.id)
  return { merchantId: store.merchant.id, apiKey: store.apiKey.key }
}

async function startApp(): Promise<Started> {
  const app = await buildApp({
    pool: database.pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [network],
    api: { assertResponses: true, rateLimit: { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 } },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app, baseUrl: `http://127.0.0.1:${address.port}` }
}

const create = (store: Store, body: Body, key: string = randomUUID(), on: Started = started) =>
  createSluiceClient({ baseUrl: on.baseUrl, apiKey: store.apiKey }).createInvoice({
    body,
    idempotencyKey: key,
  })
const get = (store: Store, id: string) =>
  createSluiceClient({ baseUrl: started.baseUrl, apiKey: store.apiKey }).getInvoice({ params: { id } })

async function count(sql: string, values: unknown[]): Promise<number> {
  const result = await database.pool.query<{ count: number }>(sql, values)
  return result.rows[0]?.count ?? -1
}

/** Sends `queued` while the first inFlightMax statements are held, so they share the next statement. */
async function inOneBatch<T>(spy: BatchSpy, queued: () => Promise<T>[]) {
  const blockers = Array.from({ length: httpLimits.oneStatementBatchesInFlightMax }, () =>
    create(first, { amount: '1', currency: 'USDT' }),
  )
  await spy.held
  const results = Promise.allSettled(queued())
  await new Promise((resolve) => setTimeout(resolve, 300))
  spy.release()
  await Promise.all(blockers)
  return await results
}

/** One request of claimWithWrites for invoiceCreationWrite, built by hand (no reserve, no route). */
function batchRequest(input: {
  merchantId: string
  key: string
  hdIndex: number
  invoiceId: string
  address: string
  now: Date
}) {
  const { merchantId, key, hdIndex, invoiceId, address, now } = input
  return {
    claim: {
      merchantId,
      key,
      operationId: 'createInvoice',
      requestHash: hashIdempotentRequest('POST', '/v1/invoices', { key }),
      now,
      status: 201,
      responseBody: { id: invoiceId },
    },
    row: {
      address: { merchantId, invoiceId, held: { address, hdAccount: 0, hdIndex } },
      invoice: {
        row: {
          id: invoiceId,
          merchant_id: merchantId,
          currency: 'USDT',
          amount: '1',
          due_value: '1000000',
          rate: null,
          tolerance_basis_points: 0,
          expires_at: new Date(now.getTime() + 3_600_000),
          monitoring_until: new Date(now.getTime() + 7_200_000),
          order_id: null,
          description: null,
          redirect_url: null,
          metadata: {},
          payment_link_id: null,
          created_at: now,
        },
        options: [
          {
            invoice_id: invoiceId,
            network: 'testnet',
            asset_id: 'USDT@testnet',
            address,
            amount_due: '1000000',
          },
        ],
      },
    },
  }
}

beforeAll(async () => {
  database = await createTestDatabase()
  await initKeys(database.pool, provider)
  first = await newStore('Batch Store One')
  second = await newStore('Batch Store Two')
  started = await startApp()
  // Warm both reserves so later requests take held addresses.
  await create(first, { amount: '1', currency: 'USDT' })
  await create(second, { amount: '1', currency: 'USDT' })
})

afterAll(async () => {
  await started?.app.close()
  await database?.drop()
})

describe('batched one-statement invoice writes', () => {
  it('round-trips awkward text in description, order_id and metadata through a shared statement', async () => {
    const awkward = [
      'quote " and \\ backslash \\" mixed',
      '{braces,commas} NULL',
      'NULL',
      '',
      ' leading and trailing spaces ',
      'line\nbreak\ttab\r',
      'U+2028 \u2028 U+2029 \u2029 é 漢字 🙂',
      '\\x00 not bytes',
    ]
    const bodies: Body[] = awkward.map((text, index) => ({
      amount: `${index + 2}`,
      currency: 'USDT',
      ...(text === '' ? {} : { order_id: text, description: text }),
      metadata: { [`k"\\${index}`]: text, plain: `v${index}` },
    }))
    const spy = spyOnBatches({ holdFirst: httpLimits.oneStatementBatchesInFlightMax })
    let results: PromiseSettledResult<Awaited<ReturnType<typeof create>>>[]
    try {
      results = await inOneBatch(spy, () => bodies.map((body) => create(first, body)))
    } finally {
      spy.restore()
    }
    expect(spy.batches.some((keys) => keys.length === bodies.length)).toBe(true)
    for (const [index, result] of results.entries()) {
      if (result.status === 'rejected') throw result.reason
      const body = bodies[index] as Body
      expect(result.value.description).toBe(body.description ?? null)
      expect(result.value.order_id).toBe(body.order_id ?? null)
      expect(result.value.metadata).toEqual(body.metadata)
      expect(await get(first, result.value.id)).toEqual(result.value)
    }
    // And replayed as answered: the stored response went through the jsonb[] array too.
    const replayKey = randomUUID()
    const replayBody = bodies[0] as Body
    const answered = await create(first, replayBody, replayKey)
    expect(await create(first, replayBody, replayKey)).toEqual(answered)
  })

  it('answers each request of a mixed statement: two stores sharing a key, replay, reuse, expired and new keys', async () => {
    const shared = randomUUID()
    const replayKey = randomUUID()
    const reusedKey = randomUUID()
    const expiredKey = randomUUID()
    const replayed = await create(first, { amount: '11', currency: 'USDT', order_id: 'replay' }, replayKey)
    await create(first, { amount: '12', currency: 'USDT', order_id: 'reused' }, reusedKey)
    // An expired key: the two-step path takes it over.
    await database.pool.query(
      `insert into idempotency_keys (merchant_id, key, operation_id, request_hash, claim_token, claimed_at,
         expires_at, response_status, response_body, completed_at)
       values ($1, $2, 'createInvoice', $3, 'old', now() - interval '2 days', now() - interval '1 day', 201,
         '{"id":"inv_old"}', now() - interval '2 days')`,
      [first.merchantId, expiredKey, hashIdempotentRequest('POST', '/v1/invoices', {})],
    )
    const spy = spyOnBatches({ holdFirst: httpLimits.oneStatementBatchesInFlightMax })
    let results: PromiseSettledResult<Awaited<ReturnType<typeof create>>>[]
    try {
      results = await inOneBatch(spy, () => [
        create(first, { amount: '13', currency: 'USDT', order_id: 'shared-first' }, shared),
        create(second, { amount: '14', currency: 'USDT', order_id: 'shared-second' }, shared),
        create(first, { amount: '11', currency: 'USDT', order_id: 'replay' }, replayKey),
        create(first, { amount: '99', currency: 'USDT', order_id: 'reused' }, reusedKey),
        create(first, { amount: '15', currency: 'USDT', order_id: 'expired' }, expiredKey),
      ])
    } finally {
      spy.restore()
    }
    expect(spy.batches.some((keys) => keys.length === 5)).toBe(true)
    const [sharedFirst, sharedSecond, replay, reused, expired] = results
    expect(sharedFirst?.status === 'fulfilled' && sharedFirst.value.order_id).toBe('shared-first')
    expect(sharedSecond?.status === 'fulfilled' && sharedSecond.value.order_id).toBe('shared-second')
    expect(replay?.status === 'fulfilled' && replay.value.id).toBe(replayed.id)
    expect(reused?.status === 'rejected' && (reused.reason as SluiceApiError).code).toBe(
      'idempotency-key-reused',
    )
    expect(expired?.status === 'fulfilled' && expired.value.order_id).toBe('expired')
    for (const [store, orderId] of [
      [first, 'shared-first'],
      [second, 'shared-second'],
      [first, 'replay'],
      [first, 'reused'],
      [first, 'expired'],
    ] as const)
      expect(
        await count('select count(*)::int as count from invoices where merchant_id = $1 and order_id = $2', [
          store.merchantId,
          orderId,
        ]),
      ).toBe(1)
  })

  // PostgreSQL refuses NUL in text and \u0000 in jsonb; JSON allows both, and lone surrogates. Refused
  // before any statement, they never fail (and rerun) a statement they would have shared.
  it.each([
    ['a U+0000', 'a\u0000b'],
    ['a lone surrogate', 'a\ud800b'],
  ])(
    'refuses %s in a text field as a 4xx, without failing and rerunning the statement it shared',
    async (_name, description) => {
      const spy = spyOnBatches({ holdFirst: httpLimits.oneStatementBatchesInFlightMax })
      const badKey = randomUUID()
      let results: PromiseSettledResult<unknown>[]
      try {
        results = await inOneBatch<unknown>(spy, () => [
          create(first, { amount: '2', currency: 'USDT' }),
          apiError(create(first, { amount: '3', currency: 'USDT', description }, badKey)),
          create(first, { amount: '4', currency: 'USDT' }),
        ])
      } finally {
        spy.restore()
      }
      const bad = results[1]
      const status = bad?.status === 'fulfilled' ? (bad.value as SluiceApiError).status : -1
      expect(spy.batches.filter((keys) => keys.length > 1 && keys.includes(badKey))).toEqual([])
      expect(status).toBeGreaterThanOrEqual(400)
      expect(status).toBeLessThan(500)
    },
  )

  it('does not give back an address its own statement wrote when the reply of that statement was lost', async () => {
    // The statement commits, then the connection drops before its reply (a fault whose outcome is
    // unknown to the API). The batcher reruns each request alone; each finds its key held with its own
    // response (replay), and runInOneStatement then releases the address the first run wrote.
    const spy = spyOnBatches({
      holdFirst: httpLimits.oneStatementBatchesInFlightMax,
      afterRun: (keys, index) =>
        index === httpLimits.oneStatementBatchesInFlightMax && keys.length > 1
          ? new Error('Connection terminated unexpectedly')
          : undefined,
    })
    let results: PromiseSettledResult<Awaited<ReturnType<typeof create>>>[]
    try {
      results = await inOneBatch(spy, () => [
        create(first, { amount: '21', currency: 'USDT', order_id: 'lost-reply-a' }),
        create(first, { amount: '22', currency: 'USDT', order_id: 'lost-reply-b' }),
      ])
    } finally {
      spy.restore()
    }
    for (const result of results) expect(result.status).toBe('fulfilled')
    // The next invoices of the store take the addresses given back (the reserve is LIFO).
    const next = await Promise.allSettled([
      create(first, { amount: '23', currency: 'USDT', order_id: 'after-lost-reply-1' }),
    ])
    const after = await Promise.allSettled([
      create(first, { amount: '24', currency: 'USDT', order_id: 'after-lost-reply-2' }),
    ])
    const statuses = [...next, ...after].map((result) =>
      result.status === 'fulfilled' ? 201 : (result.reason as SluiceApiError).status,
    )
    expect(statuses).toEqual([201, 201])
  })

  it('two processes sent the same keys in opposite orders: one invoice per key, no deadlock, no 500', async () => {
    const other = await startApp()
    const keys = Array.from({ length: 24 }, () => randomUUID())
    const bodyOf = (index: number): Body => ({
      amount: `${index + 1}`,
      currency: 'USDT',
      order_id: `two-${index}`,
    })
    let results: PromiseSettledResult<Awaited<ReturnType<typeof create>>>[]
    try {
      results = await Promise.allSettled([
        ...keys.map((key, index) => create(first, bodyOf(index), key)),
        ...[...keys.entries()].reverse().map(([index, key]) => create(first, bodyOf(index), key, other)),
      ])
    } finally {
      other.app.server.closeAllConnections()
      await other.app.close()
    }
    for (const result of results)
      if (result.status === 'rejected')
        expect((result.reason as SluiceApiError).code).toBe('idempotency-key-in-progress')
    expect(
      await count(
        "select count(*)::int as count from invoices where merchant_id = $1 and order_id like 'two-%'",
        [first.merchantId],
      ),
    ).toBe(keys.length)
  })

  it('answers requests that were waiting in the batcher when the app closed', async () => {
    const other = await startApp()
    const spy = spyOnBatches({ holdFirst: httpLimits.oneStatementBatchesInFlightMax })
    let results: PromiseSettledResult<unknown>[]
    try {
      const blockers = Array.from({ length: httpLimits.oneStatementBatchesInFlightMax }, () =>
        create(first, { amount: '1', currency: 'USDT' }, randomUUID(), other),
      )
      await spy.held
      const queued = [31, 32].map((amount) =>
        create(first, { amount: `${amount}`, currency: 'USDT' }, randomUUID(), other),
      )
      await new Promise((resolve) => setTimeout(resolve, 100))
      const closing = other.app.close()
      await new Promise((resolve) => setTimeout(resolve, 100))
      spy.release()
      results = await Promise.allSettled([...blockers, ...queued])
      // Keep-alive sockets (Fastify's 72 s keepAliveTimeout) would hold close() open: not this change's.
      other.app.server.closeAllConnections()
      results.push(...(await Promise.allSettled([closing])))
    } finally {
      spy.restore()
    }
    for (const result of results) expect(result.status).toBe('fulfilled')
  })
})

describe('claimWithWrites', () => {
  it('writes no invoice for a request whose key is held, even when its row shares an address with a written one', async () => {
    // Defence in depth: deposit_address_done lists ordinals by address value, not by the gate, so a
    // request the claim gated out is "done" when another request of the batch wrote the same address.
    const held = randomUUID()
    await create(first, { amount: '41', currency: 'USDT' }, held)
    const now = new Date()
    const address = `0x${randomBytes(20).toString('hex')}`
    const hdIndex = 1_000_000 + randomBytes(3).readUIntBE(0, 3)
    const requestOf = (key: string, index: number, invoiceId: string) =>
      batchRequest({ merchantId: first.merchantId, key, hdIndex: index, invoiceId, address, now })
    const gatedOut = `inv_gated_${randomBytes(8).toString('hex')}`
    const written = `inv_gated_${randomBytes(8).toString('hex')}`
    const outcomes = await claimWithWrites(
      database.pool,
      'createInvoice',
      [requestOf(held, hdIndex, gatedOut), requestOf(randomUUID(), hdIndex + 1, written)],
      invoiceCreationWrite,
    )
    expect(outcomes.map((outcome) => outcome.ok && outcome.value.kind)).toEqual(['reused', 'written'])
    expect(await count('select count(*)::int as count from invoices where id = $1', [gatedOut])).toBe(0)
  })
})

describe('claimWithWrites given one key twice', () => {
  it('refuses a batch with one key twice instead of writing two invoices under it', async () => {
    // Its doc requires distinct keys and only the batcher's conflictKey ensures it: the gate lists every
    // ordinal whose (merchant, key) the claim inserted, so both duplicates pass it.
    const key = randomUUID()
    const now = new Date()
    const requests = [0, 1].map((index) =>
      batchRequest({
        merchantId: first.merchantId,
        key,
        hdIndex: 3_000_000 + randomBytes(3).readUIntBE(0, 3),
        invoiceId: `inv_twice_${index}_${randomBytes(6).toString('hex')}`,
        address: `0x${randomBytes(20).toString('hex')}`,
        now,
      }),
    )
    const outcome = await claimWithWrites(
      database.pool,
      'createInvoice',
      requests,
      invoiceCreationWrite,
    ).then(
      (outcomes) => outcomes.map((entry) => entry.ok && entry.value.kind),
      (error: Error) => error.message,
    )
    const written = await count("select count(*)::int as count from invoices where id like 'inv_twice_%'", [])
    expect({ outcome: typeof outcome === 'string' ? 'refused' : outcome, written }).toEqual({
      outcome: 'refused',
      written: 0,
    })
  })
})

describe('the batched statement under force_generic_plan', () => {
  it('keeps to index lookups as the tables grow under a plan made when they were small', async () => {
    // The plan is made once per connection (generic), so it must stay right for tables far larger than
    // at its making. The first version joined the held keys, and a plan made on a young database
    // hashed all of idempotency_keys on every statement from then on.
    const merchantId = first.merchantId
    const statement = await batchStatementFor(merchantId)
    const session = await database.pool.connect()
    let plan = ''
    try {
      await session.query('set plan_cache_mode = force_generic_plan')
      await session.query(`prepare batch_statement as ${statement.text}`)
      const execute = `execute batch_statement(${statement.values
        .map((value) => (value === null ? 'null' : session.escapeLiteral(String(prepareValue(value)))))
        .join(', ')})`
      await session.query(`explain ${execute}`) // makes and caches the generic plan, on small tables
      await loadRows(merchantId, 100_000)
      await session.query('begin')
      const explained = await session.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, costs off, timing off, summary off) ${execute}`,
      )
      plan = explained.rows.map((row) => row['QUERY PLAN']).join('\n')
    } finally {
      await session.query('rollback')
      await session.query('deallocate all')
      await session.query('reset plan_cache_mode')
      session.release()
    }
    expect(plan, plan).not.toMatch(
      /Seq Scan on (idempotency_keys|invoices|deposit_addresses|invoice_payment_options)/,
    )
  }, 120_000)
})

/** The batched statement for 32 requests, half of them with keys loadRows will have written. */
async function batchStatementFor(merchantId: string): Promise<{ text: string; values: unknown[] }> {
  const now = new Date()
  const requests = Array.from({ length: 32 }, (_, index) =>
    batchRequest({
      merchantId,
      key: index % 2 === 0 ? `plan-${randomUUID()}` : `load-${index * 1000}`,
      hdIndex: 5_000_000 + index,
      invoiceId: `inv_plan_${index}_${randomBytes(4).toString('hex')}`,
      address: `0x${randomBytes(20).toString('hex')}`,
      now,
    }),
  )
  let captured: { text: string; values: unknown[] } | undefined
  await claimWithWrites(
    {
      query: (async (config: { text: string; values: unknown[] }) => {
        captured = config
        return { rows: [] }
      }) as unknown as pg.Pool['query'],
    },
    'createInvoice',
    requests,
    invoiceCreationWrite,
  )
  if (captured === undefined) throw new Error('no statement')
  return captured
}

/**
 * `rows` idempotency keys, addresses, invoices and options of the merchant, committed in one
 * transaction without the pool's statement timeout (under a full suite's load, 100k rows with their
 * foreign-key checks can take longer than a request's statement may). No analyze: statistics stay
 * those of the small tables, as between two autovacuum runs.
 */
async function loadRows(merchantId: string, rows: number): Promise<void> {
  const loader = await database.pool.connect()
  try {
    await loader.query('begin')
    await loader.query('set local statement_timeout = 0')
    await loader.query(
      `insert into idempotency_keys (merchant_id, key, operation_id, request_hash, claim_token, claimed_at,
         expires_at, response_status, response_body, completed_at)
       select $1, 'load-' || g, 'createInvoice', sha256(g::text::bytea), 't', now(), now() + interval '1 day',
         201, '{"id":"x"}', now()
       from generate_series(1, $2::int) g`,
      [merchantId, rows],
    )
    await loader.query(
      `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
       select '0x' || lpad(to_hex(g), 40, '0'), $1, 'invoice', 'inv_load_' || g, 0, 2000000 + g
       from generate_series(1, $2::int) g`,
      [merchantId, rows],
    )
    await loader.query(
      `insert into invoices (id, merchant_id, status, exception, currency, amount, due_value,
         tolerance_basis_points, expires_at, monitoring_until)
       select 'inv_load_' || g, $1, 'new', 'none', 'USDT', '1', 1000000, 0, now(), now()
       from generate_series(1, $2::int) g`,
      [merchantId, rows],
    )
    await loader.query(
      `insert into invoice_payment_options (invoice_id, network, asset_id, address, amount_due)
       select 'inv_load_' || g, 'testnet', 'USDT@testnet', '0x' || lpad(to_hex(g), 40, '0'), 1000000
       from generate_series(1, $1::int) g`,
      [rows],
    )
    await loader.query('commit')
  } catch (error) {
    await loader.query('rollback')
    throw error
  } finally {
    loader.release()
  }
}

/** pg's own conversion of a parameter value to its text form (arrays as array literals). */
function prepareValue(value: unknown): unknown {
  return (pg as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils.prepareValue(value)
}
