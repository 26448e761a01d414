import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import { consumeApproverTotp, getApprover } from '../payouts/payout.service.ts'
import type { PayoutRole } from '../payouts/payout.types.ts'
import * as errors from './session.errors.ts'
import { sessionLimits } from './session.limits.ts'
import * as repo from './session.repo.ts'
import type { DashboardSession, SignedIn } from './session.types.ts'

/**
 * Dashboard sign-in (password + TOTP) and sessions. People are the stores' payout approvers; this module
 * adds a login, a scrypt password hash and sessions whose tokens are stored only as SHA-256 hashes.
 * docs/adr/0017-dashboard-sessions-and-live-updates.md.
 */

const loginPattern = /^[a-z0-9._@-]{1,100}$/

function scryptAsync(password: string, salt: Buffer, cost: number, blockSize: number, parallel: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      32,
      { N: cost, r: blockSize, p: parallel, maxmem: sessionLimits.scryptMemoryBytesMax },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    )
  })
}

/** `scrypt$N$r$p$salt$hash` (base64url parts): the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const { scryptCost: cost, scryptBlockSize: blockSize, scryptParallelization: parallel } = sessionLimits
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, cost, blockSize, parallel)
  return ['scrypt', cost, blockSize, parallel, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  )
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, cost, blockSize, parallel, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false
  if (password.length > sessionLimits.passwordLengthMax) return false
  const expected = Buffer.from(hash, 'base64url')
  const actual = await scryptAsync(
    password,
    Buffer.from(salt, 'base64url'),
    Number.parseInt(cost ?? '', 10),
    Number.parseInt(blockSize ?? '', 10),
    Number.parseInt(parallel ?? '', 10),
  )
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** A hash of a random password, checked when the login is unknown so that case costs the same time. */
let decoyHash: Promise<string> | undefined

export function normalizeLogin(login: string): string {
  return login.trim().toLowerCase()
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function checkPassword(password: string): void {
  if (password.length < sessionLimits.passwordLengthMin)
    throw errors.passwordTooShort(sessionLimits.passwordLengthMin)
  if (password.length > sessionLimits.passwordLengthMax)
    throw errors.passwordTooLong(sessionLimits.passwordLengthMax)
}

/** Gives an approver of the store a dashboard login and password (replacing any they had). */
export async function setDashboardCredential(
  db: Queryable,
  input: Readonly<{ merchantId: string; approverId: string; login: string; password: string }>,
): Promise<void> {
  const login = normalizeLogin(input.login)
  if (!loginPattern.test(login)) throw errors.loginInvalid()
  checkPassword(input.password)
  const approver = await getApprover(db, input.merchantId, input.approverId)
  if (approver === undefined) throw errors.signInFailed()
  const stored = await repo.upsertCredential(db, {
    approverId: approver.id,
    merchantId: approver.merchantId,
    login,
    passwordHash: await hashPassword(input.password),
  })
  if (!stored) throw errors.loginTaken()
}

/**
 * Counts the login's failures in the window, this attempt's own presumed failure included. The attempt
 * was recorded, and committed, before counting: of guesses sent at once, each counts every one recorded
 * before it, so no more than signInFailuresMax are ever judged, however many arrive together.
 */
// Failures of a login longer than any valid one (loginPattern) are counted under its first characters.
const signInLoginStoredMax = 100

async function refuseWhenRateLimited(db: Queryable, login: string, now: Date): Promise<void> {
  const since = new Date(now.getTime() - sessionLimits.signInFailureWindowMs)
  const failures = (await repo.countSignInFailures(db, login, since)) - 1
  if (failures < sessionLimits.signInFailuresMax) return
  const oldest = (await repo.selectOldestSignInFailure(db, login, since)) ?? now
  const liftsAtMs = oldest.getTime() + sessionLimits.signInFailureWindowMs
  throw errors.signInRateLimited(Math.max(1, Math.ceil((liftsAtMs - now.getTime()) / 1000)))
}

/**
 * Password, then TOTP (the code's step is consumed: it cannot sign in twice nor approve a payout after).
 * Every attempt is recorded as a failure before it is judged (a success then forgets the login's
 * failures), and every failure answers with the same code.
 */
export async function signIn(
  pool: Pool,
  input: Readonly<{ login: string; password: string; totpCode: string }>,
  now: Date,
): Promise<SignedIn> {
  const login = normalizeLogin(input.login)
  // Failures are counted under the login as stored (a valid login is never longer).
  const counted = login.slice(0, signInLoginStoredMax)
  const attempt = await repo.insertSignInFailure(pool, counted, 'password', now)
  await refuseWhenRateLimited(pool, counted, now)
  const credential = loginPattern.test(login) ? await repo.selectCredentialByLogin(pool, login) : undefined
  if (credential === undefined) {
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'))
    await verifyPassword(input.password, await decoyHash)
    await repo.updateSignInFailureReason(pool, attempt, 'unknown-login')
    throw errors.signInFailed()
  }
  if (!(await verifyPassword(input.password, credential.passwordHash))) throw errors.signInFailed()
  const signedIn = await withTransaction(pool, async (client) => {
    const approver = await consumeApproverTotp(
      client,
      { merchantId: credential.merchantId, approverId: credential.approverId, totpCode: input.totpCode },
      now,
    )
    if (approver === undefined) return undefined
    const token = randomBytes(sessionLimits.sessionTokenBytes).toString('base64url')
    const session: DashboardSession = {
      id: newId('ses'),
      approverId: approver.id,
      merchantId: approver.merchantId,
      name: approver.name,
      login,
      roles: approver.roles,
      createdAt: now,
      expiresAt: new Date(now.getTime() + sessionLimits.sessionLifetimeMs),
    }
    await repo.insertSession(client, { ...session, tokenHash: hashSessionToken(token) })
    await repo.deleteSignInFailures(
      client,
      login,
      new Date(now.getTime() - sessionLimits.signInFailureWindowMs),
    )
    return { session, token }
  })
  if (signedIn === undefined) {
    await repo.updateSignInFailureReason(pool, attempt, 'totp')
    throw errors.signInFailed()
  }
  return signedIn
}

/** The live session a token names; 401 session-invalid when unknown, revoked, expired or idle too long. */
export async function authenticateSession(
  db: Queryable,
  token: string | undefined,
  now: Date,
): Promise<DashboardSession> {
  if (token === undefined || token === '') throw errors.sessionRequired()
  const row = await repo.selectSessionByTokenHash(db, hashSessionToken(token))
  const nowMs = now.getTime()
  if (
    row === undefined ||
    row.revoked_at !== null ||
    row.expires_at.getTime() <= nowMs ||
    nowMs - row.last_seen_at.getTime() >= sessionLimits.sessionIdleMs
  )
    throw errors.sessionInvalid()
  // Roles are read fresh: a person whose roles change loses or gains rights without signing in again.
  const approver = await getApprover(db, row.merchant_id, row.approver_id)
  if (approver === undefined) throw errors.sessionInvalid()
  if (nowMs - row.last_seen_at.getTime() >= sessionLimits.sessionTouchIntervalMs)
    await repo.touchSession(db, row.id, now)
  return {
    id: row.id,
    approverId: approver.id,
    merchantId: approver.merchantId,
    name: approver.name,
    login: row.login,
    roles: approver.roles,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

export async function signOut(db: Queryable, token: string | undefined, now: Date): Promise<void> {
  if (token === undefined || token === '') return
  await repo.revokeSession(db, hashSessionToken(token), now)
}

/** 403 role-missing unless the session holds one of `roles`. */
export function requireRole(session: DashboardSession, roles: readonly PayoutRole[]): void {
  if (!session.roles.some((role) => roles.includes(role))) throw errors.roleMissing(roles)
}
