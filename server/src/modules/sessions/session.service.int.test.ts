import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { isAppError } from '../../lib/errors.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { enrolApprover } from '../payouts/payout.service.ts'
import { totpAt } from '../payouts/payout.totp.ts'
import { sessionLimits } from './session.limits.ts'
import {
  authenticateSession,
  hashSessionToken,
  setDashboardCredential,
  signIn,
  signOut,
} from './session.service.ts'

// Dashboard sign-in and sessions on a real PostgreSQL, with an injected clock so expiry, idling and the
// sign-in rate limit are tested on both sides of each limit.
const password = 'a long dashboard passphrase for tests'

let database: TestDatabase
let merchantId = ''

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isAppError(error)) return `${error.httpStatus} ${error.code}`
    throw error
  }
  return 'ok'
}

const unixSeconds = (date: Date) => BigInt(date.getTime()) / 1000n
/** A clock on a TOTP step boundary, `steps` 30 s steps after a fixed start: each step has fresh codes. */
const atStep = (steps: number) => new Date(Date.UTC(2030, 0, 1) + steps * 30_000)

async function newUser(login: string) {
  const enrolled = await enrolApprover(database.pool, { merchantId, name: login, roles: ['approver'] })
  await setDashboardCredential(database.pool, {
    merchantId,
    approverId: enrolled.approver.id,
    login,
    password,
  })
  return { approverId: enrolled.approver.id, secret: enrolled.totpSecret }
}

beforeAll(async () => {
  database = await createTestDatabase()
  merchantId = (await createMerchant(database.pool, { name: 'Sessions Store' })).merchant.id
})

afterAll(async () => {
  await database?.drop()
})

describe('dashboard sign-in', () => {
  it('signs in with password and TOTP, stores only the token hash, and signs out', async () => {
    const user = await newUser('alice')
    const now = atStep(10)
    const signedIn = await signIn(
      database.pool,
      { login: 'Alice', password, totpCode: totpAt(user.secret, unixSeconds(now)) },
      now,
    )
    expect(signedIn.session).toMatchObject({ approverId: user.approverId, merchantId, roles: ['approver'] })
    expect(signedIn.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const stored = await database.pool.query('select token_hash from dashboard_sessions where id = $1', [
      signedIn.session.id,
    ])
    expect(stored.rows).toEqual([{ token_hash: hashSessionToken(signedIn.token) }])
    const dump = JSON.stringify((await database.pool.query('select * from dashboard_sessions')).rows)
    expect(dump).not.toContain(signedIn.token)
    const password_hashes = await database.pool.query('select password_hash from dashboard_credentials')
    expect(JSON.stringify(password_hashes.rows)).not.toContain(password)

    const session = await authenticateSession(database.pool, signedIn.token, now)
    expect(session.id).toBe(signedIn.session.id)
    await signOut(database.pool, signedIn.token, now)
    expect(await codeOf(authenticateSession(database.pool, signedIn.token, now))).toBe('401 session-invalid')
    expect(await codeOf(authenticateSession(database.pool, undefined, now))).toBe('401 session-required')
    expect(await codeOf(authenticateSession(database.pool, 'forged', now))).toBe('401 session-invalid')
  })

  it('refuses a wrong password, a wrong TOTP code and a replayed one with the same code', async () => {
    const user = await newUser('bob')
    const now = atStep(20)
    const code = totpAt(user.secret, unixSeconds(now))
    expect(
      await codeOf(
        signIn(database.pool, { login: 'bob', password: 'wrong password!!', totpCode: code }, now),
      ),
    ).toBe('401 sign-in-failed')
    const wrongCode = code === '000000' ? '111111' : '000000'
    expect(await codeOf(signIn(database.pool, { login: 'bob', password, totpCode: wrongCode }, now))).toBe(
      '401 sign-in-failed',
    )
    expect(await codeOf(signIn(database.pool, { login: 'nobody', password, totpCode: code }, now))).toBe(
      '401 sign-in-failed',
    )
    expect(await codeOf(signIn(database.pool, { login: 'bob', password, totpCode: code }, now))).toBe('ok')
    // The same code again, even seconds later in the same step: refused (a code is good once).
    const later = new Date(now.getTime() + 5_000)
    expect(await codeOf(signIn(database.pool, { login: 'bob', password, totpCode: code }, later))).toBe(
      '401 sign-in-failed',
    )
    const reasons = await database.pool.query<{ reason: string }>(
      "select reason from dashboard_sign_in_failures where login in ('bob', 'nobody') order by id",
    )
    // The success cleared bob's earlier failures; the replay after it is recorded.
    expect(reasons.rows.map((row) => row.reason)).toEqual(['unknown-login', 'totp'])
  })

  it('ends a session at its lifetime and after idling, on both sides of each limit', async () => {
    const user = await newUser('carol')
    const start = atStep(40)
    const signed = await signIn(
      database.pool,
      { login: 'carol', password, totpCode: totpAt(user.secret, unixSeconds(start)) },
      start,
    )
    const at = (ms: number) => new Date(start.getTime() + ms)
    // Idle: just under the limit is fine (and refreshes last_seen), exactly at it is not.
    const idle = sessionLimits.sessionIdleMs
    expect(await codeOf(authenticateSession(database.pool, signed.token, at(idle - 1)))).toBe('ok')
    expect(await codeOf(authenticateSession(database.pool, signed.token, at(2 * idle - 2)))).toBe('ok')
    expect(await codeOf(authenticateSession(database.pool, signed.token, at(3 * idle - 1)))).toBe(
      '401 session-invalid',
    )

    // Lifetime: kept active, it still ends at expires_at.
    const again = await signIn(
      database.pool,
      { login: 'carol', password, totpCode: totpAt(user.secret, unixSeconds(atStep(41))) },
      atStep(41),
    )
    const lifetime = sessionLimits.sessionLifetimeMs
    const begin = atStep(41).getTime()
    for (let elapsed = idle / 2; elapsed < lifetime; elapsed += idle / 2)
      await authenticateSession(database.pool, again.token, new Date(begin + elapsed))
    expect(
      await codeOf(authenticateSession(database.pool, again.token, new Date(begin + lifetime - 1))),
    ).toBe('ok')
    expect(await codeOf(authenticateSession(database.pool, again.token, new Date(begin + lifetime)))).toBe(
      '401 session-invalid',
    )
  })

  it('rate-limits failed sign-ins per login: the last allowed failure, the refusal, and the window end', async () => {
    const user = await newUser('dave')
    const start = atStep(100)
    const bad = { login: 'dave', password: 'not the password', totpCode: '123456' }
    for (let attempt = 1; attempt <= sessionLimits.signInFailuresMax; attempt += 1)
      expect(await codeOf(signIn(database.pool, bad, new Date(start.getTime() + attempt)))).toBe(
        '401 sign-in-failed',
      )
    // Over the limit even the right credentials are refused, without being checked.
    const now = atStep(101)
    const good = { login: 'dave', password, totpCode: totpAt(user.secret, unixSeconds(now)) }
    expect(await codeOf(signIn(database.pool, good, now))).toBe('429 sign-in-rate-limited')
    // Another login is not affected.
    const other = await newUser('erin')
    expect(
      await codeOf(
        signIn(
          database.pool,
          { login: 'erin', password, totpCode: totpAt(other.secret, unixSeconds(now)) },
          now,
        ),
      ),
    ).toBe('ok')
    // When the first failure leaves the window, one attempt is allowed again.
    const windowEnd = start.getTime() + 1 + sessionLimits.signInFailureWindowMs
    const stillLimited = new Date(windowEnd - 1)
    expect(await codeOf(signIn(database.pool, good, stillLimited))).toBe('429 sign-in-rate-limited')
    const lifted = atStep(Math.ceil((windowEnd - atStep(0).getTime()) / 30_000) + 1)
    const fresh = { ...good, totpCode: totpAt(user.secret, unixSeconds(lifted)) }
    expect(await codeOf(signIn(database.pool, fresh, lifted))).toBe('ok')
  })

  it('validates logins and passwords when they are set, with paths', async () => {
    const enrolled = await enrolApprover(database.pool, { merchantId, name: 'Frank', roles: ['auditor'] })
    const set = (login: string, secret: string) =>
      setDashboardCredential(database.pool, {
        merchantId,
        approverId: enrolled.approver.id,
        login,
        password: secret,
      })
    expect(await codeOf(set('frank', 'x'.repeat(sessionLimits.passwordLengthMin - 1)))).toBe(
      '422 password-too-short',
    )
    expect(await codeOf(set('frank', 'x'.repeat(sessionLimits.passwordLengthMax + 1)))).toBe(
      '422 password-too-long',
    )
    expect(await codeOf(set('frank smith', password))).toBe('422 login-invalid')
    expect(await codeOf(set('alice', password))).toBe('409 login-taken')
    expect(await codeOf(set('frank', 'x'.repeat(sessionLimits.passwordLengthMin)))).toBe('ok')
  })
})
