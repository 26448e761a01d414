import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import type { ApiKey, CreatedApiKey } from './api/api-keys.ts'
import { defineOperation } from './api/operation.ts'
import type { Store } from './api/store.ts'
import { createSluiceClient, SluiceApiError, SluiceClientError } from './client.ts'

type Call = { url: string; init: RequestInit }

/** A fetch that records each call and answers with the given responses in turn. */
function fakeFetch(...responses: (Response | Error)[]) {
  const calls: Call[] = []
  const fetch = async (url: string, init: RequestInit) => {
    calls.push({ url, init })
    const next = responses.shift()
    if (next === undefined) throw new Error('no more fake responses')
    if (next instanceof Error) throw next
    return next
  }
  return { fetch, calls }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })

const headerOf = (call: Call | undefined, name: string) =>
  ((call?.init.headers ?? {}) as Record<string, string>)[name]

const apiKey: ApiKey = {
  id: 'key_01J0000000000000000000000A',
  label: 'ci',
  scopes: ['ledger:read'],
  key_prefix: 'sk_abc',
  created_at: '2026-01-01T00:00:00.000Z',
  revoked_at: null,
}

const transfer = defineOperation({
  operationId: 'testTransfer',
  method: 'POST',
  path: '/v1/test/transfers',
  summary: 'Transfer',
  description: 'test',
  tags: ['test'],
  scope: 'payouts:write',
  moneyMoving: true,
  body: z.strictObject({ amount: z.string() }),
  response: z.object({ id: z.string() }),
  successStatus: 201,
})

describe('SDK client', () => {
  it('sends the bearer key and returns the parsed response', async () => {
    const { fetch, calls } = fakeFetch(json(200, { id: 'mer_01J0000000000000000000000A', name: 'Shop' }))
    const client = createSluiceClient({ baseUrl: 'https://pay.example/', apiKey: 'sk_test', fetch })
    const store = await client.getStore()
    expect(store).toEqual({ id: 'mer_01J0000000000000000000000A', name: 'Shop' })
    expect(calls[0]?.url).toBe('https://pay.example/v1/store')
    expect(calls[0]?.init.method).toBe('GET')
    expect(headerOf(calls[0], 'authorization')).toBe('Bearer sk_test')
    expect(calls[0]?.init.body).toBeUndefined()
  })

  it('fills path parameters (encoded) and query parameters', async () => {
    const { fetch, calls } = fakeFetch(json(200, apiKey), json(200, { data: [apiKey], has_more: false }))
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    await client.revokeApiKey({ params: { id: 'key_a/b' } })
    expect(calls[0]?.url).toBe('https://pay.example/v1/api-keys/key_a%2Fb')
    expect(calls[0]?.init.method).toBe('DELETE')
    const page = await client.listApiKeys({ query: { limit: 5, starting_after: apiKey.id } })
    expect(calls[1]?.url).toBe(`https://pay.example/v1/api-keys?limit=5&starting_after=${apiKey.id}`)
    expect(page.data[0]?.id).toBe(apiKey.id)
  })

  it('throws SluiceApiError with status, code, message, errors and request id', async () => {
    const body = {
      code: 'validation-failed',
      message: 'the request is not valid',
      errors: [{ path: 'body.label', message: 'Too small' }],
    }
    const { fetch } = fakeFetch(json(422, body, { 'x-request-id': 'req_123' }))
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    const error = await client
      .createApiKey({ body: { label: '', scopes: ['ledger:read'] } })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SluiceApiError)
    expect(error).toMatchObject({
      status: 422,
      code: 'validation-failed',
      message: 'the request is not valid',
      errors: body.errors,
      requestId: 'req_123',
    })
  })

  it('reads Retry-After from 429 answers', async () => {
    const { fetch } = fakeFetch(
      json(429, { code: 'rate-limited', message: 'slow down' }, { 'retry-after': '3' }),
    )
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    await expect(client.getStore()).rejects.toMatchObject({
      status: 429,
      code: 'rate-limited',
      retryAfterSeconds: 3,
      errors: [],
    })
  })

  it('keeps the status when an error response is not ours (a proxy page)', async () => {
    const { fetch } = fakeFetch(
      new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    )
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    await expect(client.getStore()).rejects.toMatchObject({
      status: 502,
      code: 'http-502',
      message: 'Bad Gateway',
    })
  })

  it('refuses a success response that breaks the contract', async () => {
    const { fetch } = fakeFetch(json(200, { id: 42 }))
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    await expect(client.getStore()).rejects.toBeInstanceOf(SluiceClientError)
  })

  it('ignores response fields it does not know (the server may add some)', async () => {
    const { fetch } = fakeFetch(
      json(200, { id: 'mer_01J0000000000000000000000A', name: 'Shop', added: true }),
    )
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    expect(await client.getStore()).toEqual({ id: 'mer_01J0000000000000000000000A', name: 'Shop' })
  })
})

describe('SDK client idempotency', () => {
  it('generates an Idempotency-Key when omitted and exposes it for a retry', async () => {
    const { fetch, calls } = fakeFetch(
      json(500, { code: 'internal-error', message: 'internal error' }),
      json(201, { id: 'tr_1' }, { 'idempotent-replayed': 'true' }),
    )
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    const error = await client.send(transfer, { body: { amount: '1' } }).catch((e: unknown) => e)
    if (!(error instanceof SluiceApiError)) throw new Error('expected SluiceApiError')
    expect(error.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/)
    expect(headerOf(calls[0], 'idempotency-key')).toBe(error.idempotencyKey)
    expect(headerOf(calls[0], 'content-type')).toBe('application/json')
    expect(calls[0]?.init.body).toBe('{"amount":"1"}')
    const retry = await client.send(transfer, {
      body: { amount: '1' },
      idempotencyKey: error.idempotencyKey ?? '',
    })
    expect(headerOf(calls[1], 'idempotency-key')).toBe(error.idempotencyKey)
    expect(retry).toMatchObject({ status: 201, replayed: true, data: { id: 'tr_1' } })
  })

  it('carries the key on network failures too', async () => {
    const { fetch } = fakeFetch(new TypeError('fetch failed'))
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    const error = await client
      .send(transfer, { body: { amount: '1' }, idempotencyKey: 'mine' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SluiceClientError)
    expect((error as SluiceClientError).idempotencyKey).toBe('mine')
  })

  it('sends no Idempotency-Key on operations that take none', async () => {
    const { fetch, calls } = fakeFetch(json(200, apiKey))
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k', fetch })
    await client.revokeApiKey({ params: { id: apiKey.id } })
    expect(headerOf(calls[0], 'idempotency-key')).toBeUndefined()
  })
})

describe('SDK client types', () => {
  it('derives one typed method per operation from the contract', () => {
    const client = createSluiceClient({ baseUrl: 'https://pay.example', apiKey: 'k' })
    expectTypeOf(client.getStore).returns.resolves.toEqualTypeOf<Store>()
    expectTypeOf(client.createApiKey).returns.resolves.toEqualTypeOf<CreatedApiKey>()
    expectTypeOf(client.createApiKey).parameter(0).toHaveProperty('idempotencyKey')
    expectTypeOf(client.revokeApiKey).parameter(0).toEqualTypeOf<{ readonly params: { id: string } }>()
    expectTypeOf<Parameters<typeof client.listApiKeys>[0]>().toEqualTypeOf<
      | { readonly query?: { limit?: number | string | undefined; starting_after?: string | undefined } }
      | undefined
    >()
  })
})
