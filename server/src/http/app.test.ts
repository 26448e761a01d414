import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { limits } from '../config/limits.ts'
import { createPool } from '../db/pool.ts'
import { AppError } from '../lib/errors.ts'
import { createLogger } from '../lib/logger.ts'
import { buildApp } from './app.ts'
import { parseInput } from './errors.ts'
import { createMetrics } from './metrics.ts'

// The error mapper and request plumbing, exercised in-process (no database query is made).
const pool = createPool('postgres://nobody@127.0.0.1:1/none', { sizeMax: 1 })
let app: Awaited<ReturnType<typeof buildApp>>

beforeAll(async () => {
  app = await buildApp(
    { pool, logger: createLogger('silent'), metrics: createMetrics(), networks: [] },
    (instance) => {
      instance.post('/echo', async (request) =>
        parseInput(z.strictObject({ amount: z.string().regex(/^\d+$/) }), request.body, 'body'),
      )
      instance.get('/conflict', async () => {
        throw new AppError('payout-old-revision', 409, 'the payout changed')
      })
      instance.get('/bug', async () => {
        throw new Error('secret detail that must not leak')
      })
    },
  )
})
afterAll(async () => {
  await app.close()
  await pool.end()
})

describe('readiness', () => {
  it('says the database is unreachable without the driver message (host, port) to whoever asks', async () => {
    const response = await app.inject({ method: 'GET', url: '/readyz' })
    expect(response.statusCode).toBe(503)
    expect(response.json().database).toEqual({ healthy: false, problem: 'database unreachable' })
    expect(response.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:1\b/)
  })
})

describe('http error mapping', () => {
  it('maps validation failures to 422 with paths', async () => {
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { amount: '1.5', extra: 1 } })
    expect(response.statusCode).toBe(422)
    const body = response.json()
    expect(body.code).toBe('validation-failed')
    expect(body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      'body.amount',
      'body.extra',
    ])
  })

  it('maps business errors to their status and code', async () => {
    const response = await app.inject({ method: 'GET', url: '/conflict' })
    expect(response.statusCode).toBe(409)
    expect(response.json()).toEqual({ code: 'payout-old-revision', message: 'the payout changed' })
  })

  it('hides unexpected errors behind a 500 internal-error', async () => {
    const response = await app.inject({ method: 'GET', url: '/bug' })
    expect(response.statusCode).toBe(500)
    expect(response.body).not.toContain('secret detail')
    expect(response.json()).toEqual({ code: 'internal-error', message: 'internal error' })
  })

  it('answers malformed JSON with 400 invalid-json', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      payload: '{"amount":',
      headers: { 'content-type': 'application/json' },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('invalid-json')
  })

  it('accepts a body at the size limit and refuses one byte over with 413', async () => {
    const padding = (length: number) => JSON.stringify({ amount: '1', pad: 'x'.repeat(length) })
    const overhead = padding(0).length
    const atLimit = await app.inject({
      method: 'POST',
      url: '/echo',
      payload: padding(limits.requestBodyBytesMax - overhead),
      headers: { 'content-type': 'application/json' },
    })
    expect(atLimit.statusCode).toBe(422) // parsed, then refused by the schema: the size was accepted
    const over = await app.inject({
      method: 'POST',
      url: '/echo',
      payload: padding(limits.requestBodyBytesMax - overhead + 1),
      headers: { 'content-type': 'application/json' },
    })
    expect(over.statusCode).toBe(413)
    expect(over.json().code).toBe('request-body-too-large')
  })

  it('answers unknown routes with 404 route-not-found', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing' })
    expect(response.statusCode).toBe(404)
    expect(response.json().code).toBe('route-not-found')
  })
})

describe('access log', () => {
  it('writes one line per request when it ends, and none for a route logging at warn', async () => {
    const lines: Record<string, unknown>[] = []
    const logged = await buildApp(
      {
        pool,
        logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }),
        metrics: createMetrics(),
        networks: [],
      },
      (instance) => {
        instance.get('/quiet/:secret', { logLevel: 'warn' }, async () => ({ ok: true }))
      },
    )
    try {
      await logged.inject({ url: '/no-such-route?x=1', headers: { 'x-request-id': 'req-access-log' } })
      await logged.inject({ url: '/quiet/s3cr3t-in-path' })
    } finally {
      await logged.close()
    }
    const access = lines.filter((line) => line.msg === 'request completed')
    expect(access).toHaveLength(1)
    expect(access[0]).toMatchObject({
      reqId: 'req-access-log',
      method: 'GET',
      url: '/no-such-route?…', // an unmatched URL's query may hold anything: not logged
      statusCode: 404,
    })
    expect(typeof access[0]?.responseTimeMs).toBe('number')
    expect(lines.filter((line) => line.msg === 'incoming request')).toEqual([])
    expect(JSON.stringify(lines)).not.toContain('s3cr3t-in-path')
  })
})
