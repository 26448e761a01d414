import type { ScopeRequirement } from '@sluice/sdk/api/operation'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Pool } from '../db/pool.ts'
import { AppError } from '../lib/errors.ts'
import { type ApiKeyScope, apiKeyScopes, type Principal } from '../modules/merchants/merchant.types.ts'
import type { PayoutRole } from '../modules/payouts/payout.types.ts'
import { sessionLimits } from '../modules/sessions/session.limits.ts'
import { authenticateSession } from '../modules/sessions/session.service.ts'
import type { DashboardSession } from '../modules/sessions/session.types.ts'

/**
 * The dashboard calls the same contract operations as an API key (through the SDK), authenticated by its
 * session cookie instead. A session acts as a principal whose scopes follow the person's roles, and whose
 * `apiKeyId` is the approver id: audits, policy proposals and the "initiator cannot approve" rule see the
 * person. docs/adr/0017-dashboard-sessions-and-live-updates.md.
 */

export const sessionCookieName = 'sluice_session'
/**
 * Sent by the dashboard on every API call. A cross-site page cannot add a custom header without a CORS
 * preflight, which the gateway never grants; with the SameSite=Strict cookie this stops request forgery.
 */
export const dashboardClientHeader = 'x-sluice-client'
export const dashboardClientValue = 'dashboard'

const readScopes: readonly ApiKeyScope[] = apiKeyScopes.filter((scope) => scope.endsWith(':read'))

/** What each role may do, as API scopes; a person holds the union of their roles'. */
export const roleScopes: Readonly<Record<PayoutRole, readonly ApiKeyScope[]>> = {
  auditor: readScopes,
  initiator: [...readScopes, 'payouts:write'],
  approver: [...readScopes, 'payouts:approve'],
  treasurer: [...readScopes, 'payouts:write', 'payouts:approve'],
  admin: apiKeyScopes,
}

export function scopesOfRoles(roles: readonly PayoutRole[]): ApiKeyScope[] {
  return apiKeyScopes.filter((scope) => roles.some((role) => roleScopes[role].includes(scope)))
}

const sessions = new WeakMap<FastifyRequest, DashboardSession>()

/** The session a request was authenticated with (set by authenticateDashboardRequest). */
export function dashboardSessionOf(request: FastifyRequest): DashboardSession | undefined {
  return sessions.get(request)
}

export function readSessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === sessionCookieName) return value.join('=')
  }
  return undefined
}

/** True when the request is the dashboard's: no API key, the dashboard header, and a session cookie. */
export function isDashboardRequest(request: FastifyRequest): boolean {
  return (
    request.headers.authorization === undefined &&
    request.headers[dashboardClientHeader] === dashboardClientValue &&
    readSessionCookie(request) !== undefined
  )
}

/** Authenticates the session cookie and checks the operation's scope against the person's roles. */
export async function authenticateDashboardRequest(
  pool: Pool,
  request: FastifyRequest,
  requirement: ScopeRequirement,
  now: Date,
): Promise<Principal> {
  const session = await authenticateSession(pool, readSessionCookie(request), now)
  sessions.set(request, session)
  const scopes = scopesOfRoles(session.roles)
  if (requirement === 'admin') {
    if (!apiKeyScopes.every((scope) => scopes.includes(scope)))
      throw new AppError('role-missing', 403, 'this action needs the admin role')
  } else if (requirement !== null && requirement !== 'public' && !scopes.includes(requirement))
    throw new AppError('role-missing', 403, `your roles do not grant ${requirement}`)
  return { merchantId: session.merchantId, apiKeyId: session.approverId, scopes }
}

/** Set-Cookie for a new session: HttpOnly, SameSite=Strict, Secure on https, lifetime = the session's. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  const maxAgeSeconds = Math.floor(sessionLimits.sessionLifetimeMs / 1000)
  const secure = request.protocol === 'https' ? '; Secure' : ''
  void reply.header(
    'set-cookie',
    `${sessionCookieName}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`,
  )
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.header('set-cookie', `${sessionCookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
}
