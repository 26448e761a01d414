import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'
import {
  activatePolicyWithPasskey,
  type DashboardSessionWire,
  decidePayoutWithPasskey,
  listPasskeys,
  type PasskeyWire,
  registerPasskey,
  removePasskey,
  signInWithPasskey,
  startPasskeyAssertion,
  startPasskeyRegistration,
  startPasskeySignIn,
} from '@sluice/sdk/api/dashboard'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { AppError } from '../../lib/errors.ts'
import type * as passkeys from '../../modules/sessions/passkey.service.ts'
import type { PasskeyAction, RelyingParty } from '../../modules/sessions/passkey.types.ts'
import type { DashboardSession } from '../../modules/sessions/session.types.ts'
import { dashboardSessionOf, setSessionCookie } from '../dashboard-auth.ts'
import { parseInput } from '../errors.ts'
import type { TokenBucketRateLimiter } from '../rate-limit.ts'
import {
  clientBucketKey,
  type RouteDependencies,
  registerOperation,
  takePublicRateLimitToken,
} from '../route.ts'
import { payoutToWire } from './payouts.ts'

// Loaded on the first passkey request: the WebAuthn library weighs ~25 MiB, and most gateways' processes
// never see a passkey (idle RSS budget, issue 2).
let passkeyService: Promise<typeof passkeys> | undefined
const loadPasskeys = () => {
  passkeyService ??= import('../../modules/sessions/passkey.service.ts')
  return passkeyService
}

/**
 * The dashboard's passkey operations (docs/adr/0019-passkeys.md). The relying party is the gateway as the
 * browser reached it: origin = scheme://host[:port] of the request, rp id = its host name. Each challenge
 * stores the origin it was issued on and is only redeemed there, and a passkey keeps the rp id it was
 * created for, so a spoofed Host header cannot make a passkey of one name sign in through another.
 */
function relyingPartyOf(request: FastifyRequest): RelyingParty {
  return { origin: `${request.protocol}://${request.host}`, rpId: request.hostname, name: 'Sluice' }
}

function contextOf(request: FastifyRequest, dependencies: RouteDependencies): passkeys.PasskeyContext {
  return {
    relyingParty: relyingPartyOf(request),
    now: dependencies.now(),
    // Ids and counters only: challenges and responses are never logged.
    warn: (fields, message) => request.log.warn(fields, message),
  }
}

/** Passkey operations belong to a signed-in person: an API key cannot register or use passkeys. */
function sessionOf(request: FastifyRequest): DashboardSession {
  const session = dashboardSessionOf(request)
  if (session === undefined)
    throw new AppError('session-required', 401, 'passkeys are for dashboard sessions; sign in first')
  return session
}

function passkeyToWire(passkey: passkeys.PasskeyView): PasskeyWire {
  return {
    id: passkey.id,
    label: passkey.label,
    transports: [...passkey.transports],
    created_at: passkey.createdAt.toISOString(),
    last_used_at: passkey.lastUsedAt?.toISOString() ?? null,
    counter_regressed_at: passkey.counterRegressedAt?.toISOString() ?? null,
  }
}

// The wire schemas (sdk) validate shape and bounds; the WebAuthn types are the library's view of it.
const asRegistration = (value: z.output<typeof registerPasskey.body>['credential']) =>
  value as RegistrationResponseJSON
const asAssertion = (value: unknown) => value as AuthenticationResponseJSON
const creationOptions = (options: PublicKeyCredentialCreationOptionsJSON) =>
  options as z.output<typeof startPasskeyRegistration.response>
const requestOptions = (options: PublicKeyCredentialRequestOptionsJSON) =>
  options as z.output<typeof startPasskeyAssertion.response>

function actionOf(wire: z.output<typeof startPasskeyAssertion.body>['action']): PasskeyAction {
  switch (wire.kind) {
    case 'payout-decision':
      return {
        kind: wire.kind,
        payoutId: wire.payout_id,
        revision: wire.revision,
        decision: wire.decision,
      }
    case 'policy-activation':
      return { kind: wire.kind, version: wire.version }
    case 'remove-passkey':
      return { kind: wire.kind, passkeyId: wire.passkey_id }
  }
}

function registerPasskeyManagement(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    startPasskeyRegistration,
    async ({ request }) =>
      creationOptions(
        await (await loadPasskeys()).startPasskeyRegistration(
          pool,
          sessionOf(request),
          contextOf(request, dependencies),
        ),
      ),
    dependencies,
  )
  registerOperation(
    app,
    registerPasskey,
    async ({ request, body }) =>
      passkeyToWire(
        await (await loadPasskeys()).finishPasskeyRegistration(
          pool,
          sessionOf(request),
          { label: body.label, response: asRegistration(body.credential) },
          contextOf(request, dependencies),
        ),
      ),
    dependencies,
  )
  registerOperation(
    app,
    listPasskeys,
    async ({ request }) => ({
      data: (await (await loadPasskeys()).listPasskeys(pool, sessionOf(request).approverId)).map(
        passkeyToWire,
      ),
    }),
    dependencies,
  )
  registerOperation(
    app,
    startPasskeyAssertion,
    async ({ request, body }) => {
      const session = sessionOf(request)
      const options = await (await loadPasskeys()).startPasskeyAssertion(
        pool,
        {
          person: { approverId: session.approverId, merchantId: session.merchantId },
          action: actionOf(body.action),
        },
        contextOf(request, dependencies),
      )
      return requestOptions(options)
    },
    dependencies,
  )
  registerOperation(
    app,
    removePasskey,
    async ({ request, params, body }) => {
      const session = sessionOf(request)
      await (await loadPasskeys()).removePasskey(
        pool,
        {
          person: { approverId: session.approverId, merchantId: session.merchantId },
          passkeyId: params.id,
          secondFactor:
            'totp_code' in body
              ? { kind: 'totp', code: body.totp_code }
              : { kind: 'passkey', response: asAssertion(body.assertion) },
        },
        contextOf(request, dependencies),
      )
      return { removed: true as const }
    },
    dependencies,
  )
}

function registerPasskeyApprovals(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    decidePayoutWithPasskey,
    async ({ request, params, body, principal }) => {
      const session = sessionOf(request)
      const payout = await (await loadPasskeys()).decidePayoutWithPasskey(
        pool,
        {
          person: { approverId: session.approverId, merchantId: session.merchantId },
          apiKeyId: principal.apiKeyId,
          payoutId: params.id,
          revision: body.revision,
          decision: body.decision,
          reason: body.reason,
          response: asAssertion(body.assertion),
        },
        contextOf(request, dependencies),
      )
      return payoutToWire(payout)
    },
    dependencies,
  )
  registerOperation(
    app,
    activatePolicyWithPasskey,
    async ({ request, params, body }) => {
      const session = sessionOf(request)
      const version = Number.parseInt(params.version, 10)
      await (await loadPasskeys()).activatePolicyWithPasskey(
        pool,
        {
          person: { approverId: session.approverId, merchantId: session.merchantId },
          version,
          response: asAssertion(body.assertion),
        },
        contextOf(request, dependencies),
      )
      return { version, status: 'active' as const }
    },
    dependencies,
  )
}

function refuseWhenLimited(
  limiter: TokenBucketRateLimiter,
  dependencies: RouteDependencies,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  takePublicRateLimitToken(dependencies, request, reply)
  const decision = limiter.take(clientBucketKey(request.ip), dependencies.now().getTime())
  if (decision.allowed) return
  void reply.header('retry-after', String(decision.retryAfterSeconds))
  throw new AppError(
    'sign-in-rate-limited',
    429,
    `too many sign-ins from this address; retry in ${decision.retryAfterSeconds} s`,
  )
}

/**
 * Sign-in with a passkey: plain routes (the answer sets the cookie), public, and sharing the password
 * sign-in's per-address limiter. Logged at warn only, like the password route: no body reaches a log.
 */
function registerPasskeySignIn(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  signInLimiter: TokenBucketRateLimiter,
  sessionResponse: (session: DashboardSession) => Promise<DashboardSessionWire>,
): void {
  app.post(startPasskeySignIn.path, { logLevel: 'warn' }, async (request, reply) => {
    refuseWhenLimited(signInLimiter, dependencies, request, reply)
    const options = await (await loadPasskeys()).startPasskeyAssertion(
      dependencies.pool,
      { purpose: 'sign-in' },
      contextOf(request, dependencies),
    )
    return requestOptions(options)
  })
  app.post(signInWithPasskey.path, { logLevel: 'warn' }, async (request, reply) => {
    refuseWhenLimited(signInLimiter, dependencies, request, reply)
    const body = parseInput(signInWithPasskey.body, request.body, 'body')
    const signed = await (await loadPasskeys()).signInWithPasskey(
      dependencies.pool,
      asAssertion(body.assertion),
      contextOf(request, dependencies),
    )
    setSessionCookie(request, reply, signed.token)
    return await sessionResponse(signed.session)
  })
}

export function registerDashboardPasskeyRoutes(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  signInLimiter: TokenBucketRateLimiter,
  sessionResponse: (session: DashboardSession) => Promise<DashboardSessionWire>,
): void {
  registerPasskeyManagement(app, dependencies)
  registerPasskeyApprovals(app, dependencies)
  registerPasskeySignIn(app, dependencies, signInLimiter, sessionResponse)
}
