import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool } from '../../db/pool.ts'
import { createLogger } from '../../lib/logger.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'
import { signInRateLimitSettings } from './dashboard.ts'

// The dashboard's HTTP surface in-process, without a database: these requests end before any query.
const pool = createPool('postgres://nobody@127.0.0.1:1/none', { sizeMax: 1 })
let app: Awaited<ReturnType<typeof buildApp>>

beforeAll(async () => {
  app = await buildApp({ pool, logger: createLogger('silent'), metrics: createMetrics(), networks: [] })
})
afterAll(async () => {
  await app.close()
  await pool.end()
})

describe('dashboard routes', () => {
  it('validates sign-in input with paths, and never echoes the password', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/sign-in',
      remoteAddress: '198.51.100.1',
      payload: { login: 'ada', password: 'hunter2-but-longer', totp_code: '12345' },
    })
    expect(response.statusCode).toBe(422)
    expect(response.json()).toMatchObject({
      code: 'validation-failed',
      errors: [{ path: 'body.totp_code' }],
    })
    expect(response.body).not.toContain('hunter2')
  })

  it('limits sign-in attempts per address: the burst passes, the next is 429 with Retry-After', async () => {
    const attempt = () =>
      app.inject({
        method: 'POST',
        url: '/v1/public/dashboard/sign-in',
        remoteAddress: '198.51.100.2',
        payload: { login: 'ada' },
      })
    for (let index = 0; index < signInRateLimitSettings.burst; index += 1)
      expect((await attempt()).statusCode).toBe(422)
    const limited = await attempt()
    expect(limited.statusCode).toBe(429)
    expect(limited.json()).toMatchObject({ code: 'sign-in-rate-limited' })
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('refuses the API with a cookie but without the dashboard header, and sign-out without it', async () => {
    const listed = await app.inject({
      method: 'GET',
      url: '/v1/invoices',
      headers: { cookie: 'sluice_session=abc' },
    })
    expect(listed.statusCode).toBe(401)
    expect(listed.json()).toMatchObject({ code: 'authentication-required' })
    const signOut = await app.inject({
      method: 'POST',
      url: '/v1/dashboard/sign-out',
      headers: { cookie: 'sluice_session=abc' },
    })
    expect(signOut.statusCode).toBe(400)
    expect(signOut.json()).toMatchObject({ code: 'dashboard-header-required' })
  })

  it('serves the page with a strict CSP, and assets only by flat names', async () => {
    const page = await app.inject({ method: 'GET', url: '/dashboard' })
    if (page.statusCode === 200) {
      expect(page.headers['content-security-policy']).toContain("default-src 'none'")
      expect(page.headers['content-security-policy']).toContain("connect-src 'self'")
    } else expect(page.json()).toMatchObject({ code: 'dashboard-not-built' })
    expect((await app.inject({ method: 'GET', url: '/assets/dashboard/..%2Fpackage.json' })).statusCode).toBe(
      404,
    )
  })
})
