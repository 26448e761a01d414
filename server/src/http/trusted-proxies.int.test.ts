import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { createLogger } from '../lib/logger.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { enrolApprover } from '../modules/payouts/payout.service.ts'
import { totpAt } from '../modules/payouts/payout.totp.ts'
import { setDashboardCredential } from '../modules/sessions/session.service.ts'
import { buildApp } from './app.ts'
import { createMetrics } from './metrics.ts'

// Behind a TLS-terminating reverse proxy (config `trustedProxies`) the API believes the proxy's
// X-Forwarded-Proto and X-Forwarded-For: https makes the session cookie Secure, and each buyer has their
// own rate-limit bucket. From anyone else the headers are ignored, so a caller cannot pick its bucket.
const password = 'a long dashboard passphrase for tests'
const proxy = '10.0.0.2'

let database: TestDatabase
let app: Awaited<ReturnType<typeof buildApp>>
let secret = ''

beforeAll(async () => {
  database = await createTestDatabase()
  app = await buildApp({
    pool: database.pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [],
    trustedProxies: ['10.0.0.0/30'],
  })
  const store = await createMerchant(database.pool, { name: 'Proxy Store' })
  const enrolled = await enrolApprover(database.pool, {
    merchantId: store.merchant.id,
    name: 'Ana',
    roles: ['admin'],
  })
  secret = enrolled.totpSecret
  await setDashboardCredential(database.pool, {
    merchantId: store.merchant.id,
    approverId: enrolled.approver.id,
    login: 'ana',
    password,
  })
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('behind a TLS-terminating reverse proxy', () => {
  it('marks the session cookie Secure when the browser used https', async () => {
    const signedIn = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/sign-in',
      remoteAddress: proxy,
      headers: { host: 'pay.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
      payload: { login: 'ana', password, totp_code: totpAt(secret, BigInt(Date.now()) / 1000n) },
    })
    expect(signedIn.statusCode).toBe(200)
    expect(String(signedIn.headers['set-cookie'])).toContain('; Secure')
  })

  it('believes no forwarded scheme from a caller that is not a trusted proxy', async () => {
    const signedIn = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/sign-in',
      remoteAddress: '192.0.2.7',
      headers: { host: 'pay.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
      payload: { login: 'ana', password, totp_code: totpAt(secret, BigInt(Date.now() + 30_000) / 1000n) },
    })
    expect(signedIn.statusCode).toBe(200)
    expect(String(signedIn.headers['set-cookie'])).not.toContain('; Secure')
  })

  it('a direct caller cannot pick its own bucket with X-Forwarded-For', async () => {
    const statuses = new Set<number>()
    for (let index = 0; index < 40; index += 1) {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/public/invoices/inv_01JZZZZZZZZZZZZZZZZZZZZZZZ',
        remoteAddress: '192.0.2.8',
        headers: { 'x-forwarded-for': `198.51.100.${index}` },
      })
      statuses.add(response.statusCode)
    }
    expect(statuses.has(429)).toBe(true)
  })

  it('gives each buyer their own public rate-limit bucket', async () => {
    const get = (buyer: string) =>
      app.inject({
        method: 'GET',
        url: '/v1/public/invoices/inv_01JZZZZZZZZZZZZZZZZZZZZZZZ',
        remoteAddress: proxy,
        headers: { 'x-forwarded-for': buyer },
      })
    // One stranger spends the burst (30)...
    for (let index = 0; index < 40; index += 1) await get('198.51.100.66')
    // ...and a real buyer's checkout, a different client, is refused.
    const buyer = await get('203.0.113.20')
    expect(buyer.statusCode).not.toBe(429)
  })
})
