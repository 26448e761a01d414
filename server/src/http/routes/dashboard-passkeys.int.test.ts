import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { createSoftwareAuthenticator } from '../../../test/setup/software-authenticator.ts'
import { createLogger } from '../../lib/logger.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { enrolApprover } from '../../modules/payouts/payout.service.ts'
import { totpAt } from '../../modules/payouts/payout.totp.ts'
import { setDashboardCredential } from '../../modules/sessions/session.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'

// The passkey operations over HTTP on a real PostgreSQL: the relying party comes from the Host the
// browser used, the cookie comes back from a passkey sign-in, and an API key cannot touch passkeys.
const host = 'pay.example.test'
const password = 'a long dashboard passphrase for tests'

let database: TestDatabase
let app: Awaited<ReturnType<typeof buildApp>>
let apiKey = ''
let cookie = ''

const dashboard = (extra: Record<string, string> = {}) => ({
  host,
  cookie,
  'x-sluice-client': 'dashboard',
  ...extra,
})

beforeAll(async () => {
  database = await createTestDatabase()
  app = await buildApp({
    pool: database.pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [],
    api: { assertResponses: true },
  })
  const store = await createMerchant(database.pool, { name: 'Passkey HTTP Store' })
  apiKey = (
    await issueApiKey(database.pool, { merchantId: store.merchant.id, label: 'k', scopes: ['invoices:read'] })
  ).key
  const enrolled = await enrolApprover(database.pool, {
    merchantId: store.merchant.id,
    name: 'Lin',
    roles: ['approver'],
  })
  await setDashboardCredential(database.pool, {
    merchantId: store.merchant.id,
    approverId: enrolled.approver.id,
    login: 'lin',
    password,
  })
  const signedIn = await app.inject({
    method: 'POST',
    url: '/v1/public/dashboard/sign-in',
    headers: { host },
    payload: { login: 'lin', password, totp_code: totpAt(enrolled.totpSecret, BigInt(Date.now()) / 1000n) },
  })
  expect(signedIn.statusCode).toBe(200)
  cookie = String(signedIn.headers['set-cookie']).split(';')[0] ?? ''
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('passkey routes', () => {
  it('registers with the Host as relying party, then signs in with the passkey and gets a cookie', async () => {
    const authenticator = createSoftwareAuthenticator({ origin: `http://${host}`, rpId: host })
    const options = await app.inject({
      method: 'POST',
      url: '/v1/dashboard/passkeys/registration-options',
      headers: dashboard(),
    })
    expect(options.statusCode).toBe(200)
    expect(options.json()).toMatchObject({ rp: { id: host }, user: { name: 'lin' }, attestation: 'none' })
    const registered = await app.inject({
      method: 'POST',
      url: '/v1/dashboard/passkeys',
      headers: dashboard(),
      payload: { label: 'phone', credential: authenticator.register(options.json()) },
    })
    expect(registered.statusCode).toBe(201)
    expect(registered.json()).toMatchObject({ label: 'phone', last_used_at: null })
    const session = await app.inject({ method: 'GET', url: '/v1/dashboard/session', headers: dashboard() })
    expect(session.json()).toMatchObject({ passkeys: 1 })

    const signInOptions = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/passkey-sign-in/options',
      headers: { host },
    })
    expect(signInOptions.statusCode).toBe(200)
    const signedIn = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/passkey-sign-in',
      headers: { host },
      payload: { assertion: authenticator.assert(signInOptions.json()) },
    })
    expect(signedIn.statusCode).toBe(200)
    expect(signedIn.json()).toMatchObject({ login: 'lin', passkeys: 1 })
    expect(String(signedIn.headers['set-cookie'])).toMatch(/^sluice_session=[A-Za-z0-9_-]{43}; .*HttpOnly/)

    // A challenge issued on one host name is not redeemed through another.
    const elsewhere = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/passkey-sign-in/options',
      headers: { host: 'other.example.test' },
    })
    const crossed = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/passkey-sign-in',
      headers: { host },
      payload: { assertion: authenticator.assert(elsewhere.json()) },
    })
    expect(crossed.statusCode).toBe(403)
    expect(crossed.json()).toMatchObject({ code: 'passkey-challenge-mismatch' })
  })

  it('validates assertions with paths, and refuses passkey operations to an API key', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/public/dashboard/passkey-sign-in',
      headers: { host },
      payload: { assertion: { id: 'short', rawId: 'short', type: 'public-key', response: {} } },
    })
    expect(malformed.statusCode).toBe(422)
    expect(malformed.json()).toMatchObject({ code: 'validation-failed' })
    expect(malformed.json().errors.map((error: { path: string }) => error.path)).toContain(
      'body.assertion.id',
    )
    const withKey = await app.inject({
      method: 'GET',
      url: '/v1/dashboard/passkeys',
      headers: { host, authorization: `Bearer ${apiKey}` },
    })
    expect(withKey.statusCode).toBe(401)
    expect(withKey.json()).toMatchObject({ code: 'session-required' })
    const listed = await app.inject({ method: 'GET', url: '/v1/dashboard/passkeys', headers: dashboard() })
    expect(listed.json().data).toHaveLength(1)
  })
})
