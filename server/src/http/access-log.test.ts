import { request as httpRequest } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { createPool } from '../db/pool.ts'
import { createLogger } from '../lib/logger.ts'
import { buildApp } from './app.ts'
import { createMetrics } from './metrics.ts'

// The access log (one line per request, app.ts): what reaches the log, and what must not.
const pool = createPool('postgres://nobody@127.0.0.1:1/none', { sizeMax: 1 })
afterAll(async () => await pool.end())

async function loggedApp(lines: Record<string, unknown>[]) {
  return await buildApp(
    {
      pool,
      logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }),
      metrics: createMetrics(),
      networks: [],
    },
    (instance) => {
      instance.get('/quiet', { logLevel: 'warn' }, async () => ({ ok: true }))
      instance.get('/slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 300))
        return { ok: true }
      })
    },
  )
}

/** A refund link's token as the refunds module makes them: 32 random bytes, base64url (43 characters). */
const refundToken = 'Rk9PQkFSc2VjcmV0UmVmdW5kVG9rZW4wMTIzNDU2Nzg'

/** The lines logged while the app answers these requests, one after another. */
async function linesLoggedFor(requests: readonly { url: string; method?: 'GET' | 'PUT' }[]) {
  const lines: Record<string, unknown>[] = []
  const app = await loggedApp(lines)
  try {
    for (const request of requests) await app.inject(request)
  } finally {
    await app.close()
  }
  return lines
}

const completedLines = (lines: readonly Record<string, unknown>[]) =>
  lines.filter((line) => line.msg === 'request completed')

describe('access log', () => {
  it('never writes the token of a refund link (the buyer page /refund/<token>, or an unmatched variant of the API route)', async () => {
    const token = 'rfl_s3cr3tRefundLinkToken0123456789'
    const lines = await linesLoggedFor([
      // The page the store sends the buyer (refund_url_path): no route serves it here, so it is a 404.
      { url: `/refund/${token}` },
      // The secretInPath API route, reached with a trailing slash or another method: the 404 handler runs at info.
      { url: `/v1/public/refunds/${token}/` },
      { method: 'PUT', url: `/v1/public/refunds/${token}` },
    ])
    expect(JSON.stringify(lines)).not.toContain(token)
  })

  // Sent over a raw socket, so the request target reaches the server exactly as written. A review found
  // these three logged whole: the cut was anchored at "/" and matched the URL as sent.
  it.each([
    // Absolute form (RFC 9112 §3.2.2: a server must accept it): the router strips the origin, request.url not.
    ['an absolute-form buyer page', '/refund/'],
    ['an absolute-form API route with a trailing slash', '/v1/public/refunds/'],
    ['a percent-encoded letter in the fixed part', '/r%65fund/'],
  ])('never writes a refund token sent as %s, and keeps the unmatched URL short', async (name, prefix) => {
    const lines: Record<string, unknown>[] = []
    const app = await loggedApp(lines)
    const target = name.startsWith('an absolute')
      ? `http://gateway.example${prefix}${refundToken}/?t=${refundToken}`
      : `${prefix}${refundToken}`
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { port } = app.server.address() as AddressInfo
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write(`GET ${target} HTTP/1.1\r\nHost: gateway.example\r\nConnection: close\r\n\r\n`),
        )
        socket.on('data', () => {})
        socket.on('end', () => resolve())
        socket.on('error', reject)
      })
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      await app.close()
    }
    expect(completedLines(lines)).toEqual([
      expect.objectContaining({ statusCode: 404, url: expect.stringMatching(/^\/[^:]*…/) }),
    ])
    expect(JSON.stringify(lines)).not.toContain(refundToken)
  })

  it('logs an unmatched URL with its ids (30 characters) and without its query', async () => {
    const id = 'inv_01JDXQ4M8R5T6V7W8X9Y0Z1A2B'
    const lines = await linesLoggedFor([{ url: `/v1/no-such/${id}?secret=abc` }])
    expect(completedLines(lines)).toEqual([
      expect.objectContaining({ statusCode: 404, url: `/v1/no-such/${id}?…` }),
    ])
  })

  // A review found these logged whole: a matched route kept its query, and a catch-all route (the
  // dashboard's) matches any path, a pasted refund link included.
  it.each([
    ['/dashboard/refund/', ''],
    ['/dashboard/', '?next=/refund/'],
    ['/pay/inv_1', '?refund='],
  ])('never writes a refund token reaching a matched route as %s%s<token>', async (path, query) => {
    const lines = await linesLoggedFor([{ url: `${path}${query}${refundToken}` }])
    expect(completedLines(lines)).toHaveLength(1)
    expect(JSON.stringify(lines)).not.toContain(refundToken)
  })

  it('writes one completed line with the request id and flat fields, and none for a route logging at warn', async () => {
    const lines: Record<string, unknown>[] = []
    const app = await loggedApp(lines)
    try {
      await app.inject({ url: '/slow', headers: { 'x-request-id': 'req-done' } })
      await app.inject({ url: '/quiet', headers: { 'x-request-id': 'req-quiet' } })
    } finally {
      await app.close()
    }
    const done = lines.filter((line) => line.reqId === 'req-done')
    expect(done).toEqual([
      expect.objectContaining({
        level: 30,
        service: 'sluice',
        msg: 'request completed',
        method: 'GET',
        url: '/slow',
        statusCode: 200,
        remoteAddress: '127.0.0.1',
        responseTimeMs: expect.any(Number),
      }),
    ])
    expect(lines.filter((line) => line.reqId === 'req-quiet')).toEqual([])
  })

  it('leaves a trace of a request whose client went away before the answer', async () => {
    const lines: Record<string, unknown>[] = []
    const app = await loggedApp(lines)
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { port } = app.server.address() as AddressInfo
      await new Promise<void>((resolve) => {
        const outgoing = httpRequest({
          host: '127.0.0.1',
          port,
          path: '/slow',
          headers: { 'x-request-id': 'req-aborted' },
        })
        outgoing.on('error', () => resolve())
        outgoing.end()
        setTimeout(() => {
          outgoing.destroy()
          resolve()
        }, 50)
      })
      await new Promise((resolve) => setTimeout(resolve, 600))
    } finally {
      await app.close()
    }
    expect(lines.filter((line) => line.reqId === 'req-aborted')).not.toEqual([])
  })

  // The router refuses these before routing (a review finding: they left no line at all).
  it('writes a line for a request the router refuses, with its status and no refund token', async () => {
    const lines = completedLines(
      await linesLoggedFor([
        { url: `/v1/public/refunds/${refundToken}%zz` },
        { url: `/v1/invoices/${'a'.repeat(600)}` },
      ]),
    )
    expect(lines.map((line) => line.statusCode)).toEqual([400, 414])
    expect(lines.map((line) => line.url)).toEqual(['/v1/public/refunds/…', '/v1/invoices/…'])
  })

  it('counts a request the router refuses in the request metrics', async () => {
    const metrics = createMetrics()
    const app = await buildApp({ pool, logger: createLogger('silent'), metrics, networks: [] })
    try {
      await app.inject({ url: '/v1/invoices/%zz' })
    } finally {
      await app.close()
    }
    const counted = await metrics.registry.getSingleMetricAsString('sluice_http_requests_total')
    expect(counted).toContain('sluice_http_requests_total{method="GET",route="unmatched",status="400"} 1')
  })

  // The router's refusals were logged with the socket's address (a review finding): Fastify builds them
  // without its trustProxy handling. A refused request must name the client a routed one names.
  it.each([
    { trustedProxies: ['127.0.0.1'], forwardedFor: '198.51.100.7, 203.0.113.9', client: '203.0.113.9' },
    {
      trustedProxies: ['127.0.0.1', '203.0.113.9'],
      forwardedFor: '198.51.100.7, 203.0.113.9',
      client: '198.51.100.7',
    },
    { trustedProxies: ['10.0.0.0/8'], forwardedFor: '203.0.113.9', client: '127.0.0.1' },
    { trustedProxies: [], forwardedFor: '203.0.113.9', client: '127.0.0.1' },
  ])(
    'logs the client address behind proxies $trustedProxies for X-Forwarded-For "$forwardedFor", routed or refused by the router',
    async ({ trustedProxies, forwardedFor, client }) => {
      const lines: Record<string, unknown>[] = []
      const app = await buildApp({
        pool,
        logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }),
        metrics: createMetrics(),
        networks: [],
        trustedProxies,
      })
      try {
        for (const url of ['/nowhere', '/v1/invoices/%zz'])
          await app.inject({ url, headers: { 'x-forwarded-for': forwardedFor } })
      } finally {
        await app.close()
      }
      const completed = lines.filter((line) => line.msg === 'request completed')
      expect(completed.map((line) => [line.statusCode, line.remoteAddress])).toEqual([
        [404, client],
        [400, client],
      ])
    },
  )

  // The request id joins a client's view to the access line; the refusals carried none (a review finding).
  it.each([
    ['a routed request', '/nowhere'],
    ['a request the router refuses', '/v1/invoices/%zz'],
  ])('answers %s with the request id its access line names', async (_kind, url) => {
    const logged: Record<string, unknown>[] = []
    const app = await loggedApp(logged)
    try {
      const given = await app.inject({ url, headers: { 'x-request-id': 'req-given-1' } })
      const generated = await app.inject({ url })
      expect(given.headers['x-request-id']).toBe('req-given-1')
      const [, second] = completedLines(logged)
      expect(generated.headers['x-request-id']).toBe(second?.reqId)
      expect(second?.reqId).toMatch(/^req_/)
    } finally {
      await app.close()
    }
  })

  // Fastify never starts a refused request's reply timer: its time was logged and counted as 0.
  it('times a request the router refuses, in its line and in the duration histogram', async () => {
    const lines: Record<string, unknown>[] = []
    const metrics = createMetrics()
    const app = await buildApp({
      pool,
      logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }),
      metrics,
      networks: [],
    })
    try {
      await app.inject({ url: '/v1/invoices/%zz' })
      await app.inject({ url: `/v1/invoices/${'a'.repeat(600)}` })
    } finally {
      await app.close()
    }
    const completed = lines.filter((entry) => entry.msg === 'request completed')
    expect(completed.map((line) => line.statusCode)).toEqual([400, 414])
    const times = completed.map((line) => line.responseTimeMs as number)
    for (const time of times) expect(time).toBeGreaterThan(0)
    const histogram = await metrics.httpDuration.get()
    const unmatched = (suffix: string) =>
      histogram.values.find(
        (value) => value.metricName?.endsWith(suffix) && value.labels.route === 'unmatched',
      )
    expect(unmatched('_count')?.value).toBe(2)
    // The histogram counts the times the lines show (seconds there, milliseconds here).
    expect((unmatched('_sum')?.value ?? 0) * 1000).toBeCloseTo((times[0] ?? 0) + (times[1] ?? 0), 6)
  })
})
