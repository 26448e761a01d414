import { randomUUID } from 'node:crypto'
import { createApiKey as createApiKeyOperation } from '@sluice/sdk/api/api-keys'
import { apiScopes, decimalAmountSchema } from '@sluice/sdk/api/common'
import { defineOperation } from '@sluice/sdk/api/operation'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { limits } from '../config/limits.ts'
import type { Pool } from '../db/pool.ts'
import { withTransaction } from '../db/tx.ts'
import { AppError } from '../lib/errors.ts'
import { createLogger } from '../lib/logger.ts'
import { createApiKey, createMerchant, issueApiKey } from '../modules/merchants/merchant.service.ts'
import { type AppDependencies, buildApp } from './app.ts'
import { httpLimits } from './http.limits.ts'
import { deleteExpiredIdempotencyKeys, hashIdempotentRequest } from './idempotency.ts'
import { createMetrics } from './metrics.ts'
import type { OpenApiDocument } from './openapi.ts'
import { registerOperation } from './route.ts'

// The API platform end to end: a real Fastify server on a test database, driven over HTTP by the SDK.

/** Test-only money-moving operation: each `mode` exercises one idempotency path. */
const createTransfer = defineOperation({
  operationId: 'testCreateTransfer',
  method: 'POST',
  path: '/v1/test/transfers',
  summary: 'Test transfer',
  description: 'Exists only in this test.',
  tags: ['test'],
  scope: 'payouts:write',
  moneyMoving: true,
  body: z.strictObject({
    amount: decimalAmountSchema,
    mode: z.enum([
      'auto',
      'transactional',
      'reject',
      'fail-first',
      'commit-then-crash',
      'auto-commit-then-crash',
      'leak',
    ]),
    delay_ms: z.int().min(0).max(2_000).optional(),
  }),
  response: z.object({ id: z.int(), amount: z.string() }),
  successStatus: 201,
})

let database: TestDatabase
let pool: Pool
let nowMs = Date.now()
const handlerCalls = new Map<string, number>()
let app: FastifyInstance
let limitedApp: FastifyInstance
let baseUrl: string
let limitedUrl: string
const keys = { adminA: '', adminB: '', readOnlyA: '', payoutsA: '' }
let merchantA = ''

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const client = (apiKey: string, url = baseUrl): SluiceClient => createSluiceClient({ baseUrl: url, apiKey })

async function insertEffect(db: Pick<Pool, 'query'>, key: string, amount: string): Promise<number> {
  const result = await db.query<{ id: number }>(
    'insert into test_effects (idempotency_key, amount) values ($1, $2) returning id',
    [key, amount],
  )
  return result.rows[0]?.id ?? -1
}

async function effectsFor(key: string): Promise<number> {
  const result = await pool.query('select 1 from test_effects where idempotency_key = $1', [key])
  return result.rowCount ?? 0
}

function registerTestOperation(
  instance: FastifyInstance,
  api: Parameters<typeof registerOperation>[3],
): void {
  registerOperation(
    instance,
    createTransfer,
    async ({ body, idempotency }) => {
      const calls = (handlerCalls.get(idempotency.key) ?? 0) + 1
      handlerCalls.set(idempotency.key, calls)
      if (body.delay_ms !== undefined) await sleep(body.delay_ms)
      if (body.mode === 'reject') throw new AppError('transfer-rejected', 409, 'rejected by the test')
      if (body.mode === 'fail-first' && calls === 1) throw new Error('simulated crash before any effect')
      if (body.mode === 'auto' || body.mode === 'fail-first' || body.mode === 'leak') {
        const id = await insertEffect(pool, idempotency.key, body.amount)
        return body.mode === 'leak'
          ? ({ id, amount: body.amount, secret: 'x' } as never)
          : { id, amount: body.amount }
      }
      if (body.mode === 'auto-commit-then-crash') {
        await insertEffect(pool, idempotency.key, body.amount)
        if (calls === 1) throw new Error('simulated crash after the effect committed')
        return { id: 0, amount: body.amount }
      }
      const response = await withTransaction(pool, async (transaction) => {
        const id = await insertEffect(transaction, idempotency.key, body.amount)
        const result = { id, amount: body.amount }
        await idempotency.complete(transaction, result)
        return result
      })
      if (body.mode === 'commit-then-crash' && calls === 1) throw new Error('simulated crash after commit')
      return response
    },
    api,
  )
}

async function startApp(
  api: NonNullable<AppDependencies['api']>,
): Promise<{ app: FastifyInstance; url: string }> {
  const instance = await buildApp(
    { pool, logger: createLogger('silent'), metrics: createMetrics(), networks: [], api },
    registerTestOperation,
  )
  await instance.listen({ host: '127.0.0.1', port: 0 })
  const address = instance.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { app: instance, url: `http://127.0.0.1:${address.port}` }
}

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
  await pool.query(
    'create table test_effects (id serial primary key, idempotency_key text not null, amount text not null)',
  )
  const storeA = await createMerchant(pool, { name: 'Store A' })
  const storeB = await createMerchant(pool, { name: 'Store B' })
  merchantA = storeA.merchant.id
  keys.adminA = storeA.apiKey.key
  keys.adminB = storeB.apiKey.key
  keys.readOnlyA = (
    await issueApiKey(pool, { merchantId: merchantA, label: 'read', scopes: ['invoices:read'] })
  ).key
  keys.payoutsA = (
    await issueApiKey(pool, { merchantId: merchantA, label: 'payouts', scopes: ['payouts:write'] })
  ).key
  const now = () => new Date(nowMs)
  const generous = { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 }
  ;({ app, url: baseUrl } = await startApp({ now, assertResponses: true, rateLimit: generous }))
  const tight = { requestsPerSecond: 1, burst: 3, bucketsMax: 2 }
  ;({ app: limitedApp, url: limitedUrl } = await startApp({ now, assertResponses: true, rateLimit: tight }))
})

afterAll(async () => {
  await app?.close()
  await limitedApp?.close()
  await database?.drop()
})

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

describe('authentication and scopes', () => {
  it('refuses a request without a key with 401 authentication-required', async () => {
    const response = await fetch(`${baseUrl}/v1/store`)
    expect(response.status).toBe(401)
    expect(((await response.json()) as { code: string }).code).toBe('authentication-required')
  })

  it('refuses malformed and unknown keys with 401 api-key-invalid', async () => {
    expect((await apiError(client('sk_nope').getStore())).code).toBe('api-key-invalid')
    const wellFormed = `sk_${'A'.repeat(16)}_${'b'.repeat(43)}`
    const error = await apiError(client(wellFormed).getStore())
    expect([error.status, error.code]).toEqual([401, 'api-key-invalid'])
    expect(error.requestId).toMatch(/^req_/)
  })

  it('accepts any valid key where the scope is null, and needs an admin key to manage keys', async () => {
    expect(await client(keys.readOnlyA).getStore()).toEqual({ id: merchantA, name: 'Store A' })
    const error = await apiError(client(keys.readOnlyA).listApiKeys())
    expect([error.status, error.code]).toEqual([403, 'scope-missing'])
    const payouts = await apiError(
      client(keys.readOnlyA).send(createTransfer, { body: { amount: '1', mode: 'auto' } }),
    )
    expect([payouts.status, payouts.code]).toEqual([403, 'scope-missing'])
  })

  it('refuses a revoked key with 401 api-key-invalid', async () => {
    const created = await client(keys.adminA).createApiKey({
      body: { label: 'short-lived', scopes: ['ledger:read'] },
    })
    if (created.key === null) throw new Error('a new key is shown once')
    expect((await client(created.key).getStore()).id).toBe(merchantA)
    const revoked = await client(keys.adminA).revokeApiKey({ params: { id: created.id } })
    expect(revoked.revoked_at).not.toBeNull()
    expect((await apiError(client(created.key).getStore())).code).toBe('api-key-invalid')
    // Revoking again is a no-op that keeps the first time.
    expect((await client(keys.adminA).revokeApiKey({ params: { id: created.id } })).revoked_at).toBe(
      revoked.revoked_at,
    )
  })

  it('refuses, in the service, to grant a scope the caller lacks', async () => {
    const principal = { merchantId: merchantA, apiKeyId: 'key_x', scopes: ['invoices:read'] as const }
    await expect(
      createApiKey(pool, principal, { label: 'x', scopes: ['payouts:write'] }),
    ).rejects.toMatchObject({
      code: 'scope-missing',
    })
  })
})

describe('validation', () => {
  it('answers 422 validation-failed with the path of every offending input', async () => {
    const error = await apiError(
      client(keys.adminA).createApiKey({ body: { label: '', scopes: ['nope'], extra: 1 } as never }),
    )
    expect(error.status).toBe(422)
    expect(error.code).toBe('validation-failed')
    expect(error.errors.map((detail) => detail.path).sort()).toEqual([
      'body.extra',
      'body.label',
      'body.scopes[0]',
    ])
  })

  it('bounds the page size on both sides', async () => {
    const admin = client(keys.adminA)
    expect((await admin.listApiKeys({ query: { limit: limits.pageSizeMax } })).data.length).toBeGreaterThan(0)
    for (const limit of [0, limits.pageSizeMax + 1]) {
      const error = await apiError(admin.listApiKeys({ query: { limit } }))
      expect(error.errors.map((detail) => detail.path)).toEqual(['query.limit'])
    }
    const cursor = await apiError(admin.listApiKeys({ query: { starting_after: 'nope' } }))
    expect(cursor.errors.map((detail) => detail.path)).toEqual(['query.starting_after'])
  })

  it('validates path parameters and refuses amounts sent as JSON numbers', async () => {
    const error = await apiError(client(keys.adminA).revokeApiKey({ params: { id: 'key_bad' } }))
    expect(error.errors.map((detail) => detail.path)).toEqual(['params.id'])
    const amount = await apiError(
      client(keys.payoutsA).send(createTransfer, { body: { amount: 12.5 as never, mode: 'auto' } }),
    )
    expect(amount.errors.map((detail) => detail.path)).toEqual(['body.amount'])
  })
})

describe('API keys', () => {
  it('shows a new key once, and never a key or hash in lists', async () => {
    const admin = client(keys.adminA)
    const created = await admin.createApiKey({
      body: { label: 'ci', scopes: ['invoices:read', 'invoices:write'] },
    })
    expect(created.key).toMatch(/^sk_/)
    expect(created.key?.startsWith(created.key_prefix)).toBe(true)
    const raw = await fetch(`${baseUrl}/v1/api-keys?limit=100`, {
      headers: { authorization: `Bearer ${keys.adminA}` },
    })
    const text = await raw.text()
    expect(text).toContain(created.id)
    expect(text).not.toContain(created.key ?? 'unreachable')
    expect(text).not.toMatch(/secret|hash/)
  })

  it('pages newest first with starting_after until has_more is false', async () => {
    const admin = client(keys.adminA)
    for (let index = 0; index < 5; index += 1)
      await admin.createApiKey({ body: { label: `page ${index}`, scopes: ['ledger:read'] } })
    const all = (await admin.listApiKeys({ query: { limit: 100 } })).data.map((key) => key.id)
    const seen: string[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await admin.listApiKeys({
        query: { limit: 2, ...(cursor === undefined ? {} : { starting_after: cursor }) },
      })
      seen.push(...page.data.map((key) => key.id))
      if (!page.has_more) break
      cursor = page.data.at(-1)?.id
    }
    expect(seen).toEqual(all)
    expect([...all].sort().reverse()).toEqual(all)
  })

  it("answers 404 api-key-not-found for another store's key, exactly as for a missing one", async () => {
    const created = await client(keys.adminA).createApiKey({
      body: { label: 'a only', scopes: ['ledger:read'] },
    })
    const foreign = await apiError(client(keys.adminB).revokeApiKey({ params: { id: created.id } }))
    const missing = await apiError(
      client(keys.adminB).revokeApiKey({ params: { id: 'key_00000000000000000000000000' } }),
    )
    expect([foreign.status, foreign.code, foreign.message]).toEqual([
      missing.status,
      missing.code,
      missing.message,
    ])
    expect(foreign.code).toBe('api-key-not-found')
    if (created.key === null) throw new Error('shown once')
    expect((await client(created.key).getStore()).id).toBe(merchantA)
    const listedByB = (await client(keys.adminB).listApiKeys({ query: { limit: 100 } })).data.map(
      (key) => key.id,
    )
    expect(listedByB).not.toContain(created.id)
  })
})

describe('idempotency', () => {
  const transfer = (
    body: z.input<typeof createTransfer.body>,
    idempotencyKey: string,
    apiKey = keys.payoutsA,
  ) => client(apiKey).send(createTransfer, { body, idempotencyKey })

  it('requires a bounded Idempotency-Key on money-moving operations', async () => {
    const response = await fetch(`${baseUrl}/v1/test/transfers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.payoutsA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '1', mode: 'auto' }),
    })
    expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([
      400,
      'idempotency-key-required',
    ])
    const longest = 'k'.repeat(httpLimits.idempotencyKeyLengthMax)
    expect((await transfer({ amount: '1', mode: 'auto' }, longest)).status).toBe(201)
    for (const bad of [`${longest}k`, 'has space', 'ü']) {
      const error = await apiError(transfer({ amount: '1', mode: 'auto' }, bad))
      expect([error.status, error.code]).toEqual([400, 'idempotency-key-invalid'])
    }
  })

  it('replays the stored response for the same key and body, in any key order', async () => {
    const key = randomUUID()
    const first = await transfer({ amount: '12.5', mode: 'auto' }, key)
    expect(first.replayed).toBe(false)
    const second = await transfer({ mode: 'auto', amount: '12.5' }, key)
    expect([second.status, second.replayed, second.data]).toEqual([201, true, first.data])
    expect(await effectsFor(key)).toBe(1)
  })

  it('refuses the same key with another body: 422 idempotency-key-reused', async () => {
    const key = randomUUID()
    await transfer({ amount: '1', mode: 'auto' }, key)
    const error = await apiError(transfer({ amount: '2', mode: 'auto' }, key))
    expect([error.status, error.code, error.idempotencyKey]).toEqual([422, 'idempotency-key-reused', key])
    expect(await effectsFor(key)).toBe(1)
  })

  it('scopes keys per store: another store may use the same key', async () => {
    const key = randomUUID()
    await transfer({ amount: '1', mode: 'auto' }, key)
    expect((await transfer({ amount: '1', mode: 'auto' }, key, keys.adminB)).replayed).toBe(false)
    expect(await effectsFor(key)).toBe(2)
  })

  it('runs 10 concurrent identical requests exactly once; the others get 409 or the replay', async () => {
    for (const mode of ['auto', 'transactional'] as const) {
      const key = randomUUID()
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () =>
          transfer({ amount: '5', mode, delay_ms: 300 }, key).then(
            (response) => (response.replayed ? 'replayed' : 'ran'),
            (error: unknown) => (error instanceof SluiceApiError ? error.code : String(error)),
          ),
        ),
      )
      expect(outcomes.filter((outcome) => outcome === 'ran')).toHaveLength(1)
      expect(
        outcomes.every((outcome) => ['ran', 'replayed', 'idempotency-key-in-progress'].includes(outcome)),
      ).toBe(true)
      expect(outcomes).toContain('idempotency-key-in-progress')
      expect(await effectsFor(key)).toBe(1)
    }
  })

  it('creates exactly one API key for 10 concurrent creates with one key; replays hide the secret', async () => {
    const key = randomUUID()
    const label = `concurrent ${key}`
    const admin = client(keys.adminA)
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        admin
          .send(createApiKeyOperation, { body: { label, scopes: ['ledger:read'] }, idempotencyKey: key })
          .then(
            (response) => response,
            (error: unknown) => error,
          ),
      ),
    )
    const rows = await pool.query('select id from api_keys where label = $1', [label])
    expect(rows.rowCount).toBe(1)
    const successes = outcomes.filter((outcome) => !(outcome instanceof Error)) as {
      data: { id: string; key: string | null }
      replayed: boolean
    }[]
    const originals = successes.filter((outcome) => !outcome.replayed)
    expect(originals).toHaveLength(1)
    const secret = originals[0]?.data.key ?? ''
    expect(secret).toMatch(/^sk_/)
    const replay = await admin.send(createApiKeyOperation, {
      body: { label, scopes: ['ledger:read'] },
      idempotencyKey: key,
    })
    expect([replay.replayed, replay.data.id, replay.data.key]).toEqual([true, rows.rows[0]?.id, null])
    const stored = await pool.query<{ body: string }>(
      'select response_body::text as body from idempotency_keys where key = $1',
      [key],
    )
    expect(stored.rows[0]?.body).toContain(replay.data.id)
    expect(stored.rows[0]?.body).not.toContain(secret)
    expect(stored.rows[0]?.body).not.toContain(secret.slice(-20))
  })

  it('stores a 4xx answer and replays it without running the handler again', async () => {
    const key = randomUUID()
    const first = await apiError(transfer({ amount: '1', mode: 'reject' }, key))
    const second = await apiError(transfer({ amount: '1', mode: 'reject' }, key))
    expect([first.status, first.code]).toEqual([409, 'transfer-rejected'])
    expect([second.status, second.code, second.message]).toEqual([409, 'transfer-rejected', first.message])
    expect(handlerCalls.get(key)).toBe(1)
  })

  it('releases the key after a 5xx so a retry runs', async () => {
    const key = randomUUID()
    const crash = await apiError(transfer({ amount: '3', mode: 'fail-first' }, key))
    expect([crash.status, crash.code, crash.idempotencyKey]).toEqual([500, 'internal-error', key])
    const retry = await transfer({ amount: '3', mode: 'fail-first' }, key)
    expect([retry.status, retry.replayed]).toEqual([201, false])
    expect(await effectsFor(key)).toBe(1)
  })

  it('transactional mode: a crash after commit is answered by the committed record on retry', async () => {
    const key = randomUUID()
    expect((await apiError(transfer({ amount: '4', mode: 'commit-then-crash' }, key))).status).toBe(500)
    const retry = await transfer({ amount: '4', mode: 'commit-then-crash' }, key)
    expect([retry.status, retry.replayed]).toEqual([201, true])
    expect(await effectsFor(key)).toBe(1)
  })

  it('automatic mode: a crash after the effect committed runs again on retry (at-least-once, per ADR)', async () => {
    const key = randomUUID()
    expect((await apiError(transfer({ amount: '4', mode: 'auto-commit-then-crash' }, key))).status).toBe(500)
    expect((await transfer({ amount: '4', mode: 'auto-commit-then-crash' }, key)).replayed).toBe(false)
    expect(await effectsFor(key)).toBe(2)
  })

  it('answers 409 for a claim left by a dead process until the lease ends, then runs', async () => {
    const key = randomUUID()
    const body = { amount: '6', mode: 'auto' } as const
    // The claim a process that died mid-request leaves behind (same request hash, never completed).
    await pool.query(
      `insert into idempotency_keys (merchant_id, key, operation_id, request_hash, claim_token, claimed_at, expires_at)
       values ($1, $2, 'testCreateTransfer', $3, 'dead', $4, $5)`,
      [
        merchantA,
        key,
        hashIdempotentRequest('POST', '/v1/test/transfers', body),
        new Date(nowMs),
        new Date(nowMs + 86_400_000),
      ],
    )
    const blocked = await apiError(transfer(body, key))
    expect([blocked.status, blocked.code]).toEqual([409, 'idempotency-key-in-progress'])
    nowMs += httpLimits.idempotencyClaimLeaseMs - 1
    expect((await apiError(transfer(body, key))).code).toBe('idempotency-key-in-progress')
    nowMs += 1
    expect((await transfer(body, key)).replayed).toBe(false)
    expect(await effectsFor(key)).toBe(1)
  })

  it('replays until the retention ends; then the key is free and the cleanup deletes it', async () => {
    const key = randomUUID()
    const body = { amount: '7', mode: 'auto' } as const
    const stored = async () =>
      (await pool.query('select 1 from idempotency_keys where key = $1', [key])).rowCount
    await transfer(body, key)
    nowMs += httpLimits.idempotencyKeyRetentionMs - 1
    expect((await transfer(body, key)).replayed).toBe(true)
    // Rows of earlier tests expire too (the clock only moves forward): drain them, ours must stay.
    while ((await deleteExpiredIdempotencyKeys(pool, new Date(nowMs), 1_000)) > 0);
    expect(await stored()).toBe(1)
    nowMs += 1
    // batchMax bounds one call: with several expired rows, a call of 1 deletes exactly one.
    await pool.query(
      `insert into idempotency_keys (merchant_id, key, operation_id, request_hash, claim_token, claimed_at, expires_at)
       select $1, 'filler-' || n, 'x', sha256('x'), 'x', $2, $3 from generate_series(1, 3) n`,
      [merchantA, new Date(nowMs - 2), new Date(nowMs - 1)],
    )
    expect(await deleteExpiredIdempotencyKeys(pool, new Date(nowMs), 1)).toBe(1)
    // The fillers and ours; a key another test claimed at the same frozen instant may expire with it.
    expect(await deleteExpiredIdempotencyKeys(pool, new Date(nowMs), 1_000)).toBeGreaterThanOrEqual(3)
    expect(await stored()).toBe(0)
    expect((await transfer(body, key)).replayed).toBe(false)
    expect(await effectsFor(key)).toBe(2)
  })

  it('treats a handler result that breaks the response schema as a bug (500), not a stored answer', async () => {
    const key = randomUUID()
    const error = await apiError(transfer({ amount: '1', mode: 'leak' }, key))
    expect([error.status, error.code]).toEqual([500, 'internal-error'])
    const stored = await pool.query('select 1 from idempotency_keys where key = $1', [key])
    expect(stored.rowCount).toBe(0)
  })
})

describe('rate limit', () => {
  it('allows the burst, answers 429 rate-limited with Retry-After past it, and refills with time', async () => {
    const limited = client(keys.readOnlyA, limitedUrl)
    for (let index = 0; index < 3; index += 1) await limited.getStore()
    const error = await apiError(limited.getStore())
    expect([error.status, error.code, error.retryAfterSeconds]).toEqual([429, 'rate-limited', 1])
    // Another key has its own bucket.
    expect((await client(keys.adminA, limitedUrl).getStore()).id).toBe(merchantA)
    nowMs += 999
    expect((await apiError(limited.getStore())).code).toBe('rate-limited')
    nowMs += 1
    expect((await limited.getStore()).id).toBe(merchantA)
    expect((await apiError(limited.getStore())).code).toBe('rate-limited')
  })
})

describe('OpenAPI and docs', () => {
  it('serves the OpenAPI document and a self-contained docs page', async () => {
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/store', '/v1/api-keys', '/v1/api-keys/{id}']),
    )
    const docs = await fetch(`${baseUrl}/docs`)
    expect(docs.headers.get('content-type')).toContain('text/html')
    expect(docs.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await docs.text()).toContain('api-key-not-found')
  })

  it('lists every scope the server knows in the admin requirement', async () => {
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument
    expect(document.paths['/v1/api-keys']?.post?.security).toEqual([{ apiKey: [...apiScopes] }])
  })
})
