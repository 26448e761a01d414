import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import {
  type DashboardOverviewWire,
  type DashboardSessionWire,
  dashboardStreamPath,
  getDashboardOverview,
  getDashboardSession,
  type NetworkStatusWire,
  signInDashboard,
  signOutDashboard,
} from '@sluice/sdk/api/dashboard'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import { assert } from '../../lib/assert.ts'
import { AppError } from '../../lib/errors.ts'
import { repositoryDirectory } from '../../lib/package-root.ts'
import { listScanPositions } from '../../modules/chains/chain.service.ts'
import { type NetworkHealth, probeNetwork } from '../../modules/chains/rpc-health.ts'
import { getMerchant } from '../../modules/merchants/merchant.service.ts'
import type { OperatorStores } from '../../modules/merchants/merchant.types.ts'
import { isPanicEngaged } from '../../modules/payouts/payout.service.ts'
import { signIn, signOut } from '../../modules/sessions/session.service.ts'
import type { DashboardSession } from '../../modules/sessions/session.types.ts'
import { findGatewayHotWalletAddress } from '../../modules/sweeps/sweep.service.ts'
import {
  authenticateDashboardRequest,
  clearSessionCookie,
  dashboardClientHeader,
  dashboardClientValue,
  dashboardSessionOf,
  readSessionCookie,
  scopesOfRoles,
  setSessionCookie,
} from '../dashboard-auth.ts'
import { parseInput } from '../errors.ts'
import { type RateLimitSettings, TokenBucketRateLimiter } from '../rate-limit.ts'
import {
  clientBucketKey,
  type RouteDependencies,
  registerOperation,
  takePublicRateLimitToken,
} from '../route.ts'

import { registerDashboardPasskeyRoutes } from './dashboard-passkeys.ts'
import { type LiveEventHub, openEventStream } from './live-stream.ts'

/**
 * The operator dashboard (web/src/dashboard): its page at /dashboard, its assets under /assets/dashboard/,
 * sign-in and sign-out (plain routes: they set and clear the cookie), its own contract operations, and
 * its live stream. Everything else it shows comes from the public API's operations, called with the
 * session cookie (dashboard-auth.ts).
 */
export const dashboardBuildDirectory = join(repositoryDirectory, 'web', 'dist', 'dashboard')

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
}

const assetNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/

/** Same origin only, like the checkout: no CDN, font, analytics or frame. */
const pagePolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

async function readBuilt(name: string): Promise<Buffer | undefined> {
  try {
    return await readFile(join(dashboardBuildDirectory, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function notBuilt(reply: FastifyReply): FastifyReply {
  return reply.status(404).send({
    code: 'dashboard-not-built',
    message: `the dashboard is not built (${dashboardBuildDirectory}): run \`npm run build --workspace web\``,
  })
}

function sessionToWire(
  session: DashboardSession,
  store: Readonly<{ name: string; operator: boolean }>,
  passkeys: number,
): DashboardSessionWire {
  return {
    approver_id: session.approverId,
    name: session.name,
    login: session.login,
    roles: [...session.roles],
    scopes: scopesOfRoles(session.roles),
    store_id: session.merchantId,
    store_name: store.name,
    operator_store: store.operator,
    expires_at: session.expiresAt.toISOString(),
    passkeys,
  }
}

async function sessionResponse(
  dependencies: RouteDependencies,
  session: DashboardSession,
): Promise<DashboardSessionWire> {
  return sessionToWire(
    session,
    {
      name: await storeNameOf(dependencies, session.merchantId),
      operator: dependencies.operatorStores.has(session.merchantId),
    },
    await (await import('../../modules/sessions/passkey.service.ts')).countPasskeys(
      dependencies.pool,
      session.approverId,
    ),
  )
}

async function storeNameOf(dependencies: RouteDependencies, merchantId: string): Promise<string> {
  const merchant = await getMerchant(dependencies.pool, merchantId)
  assert(merchant !== undefined, `the store of a session (${merchantId}) must exist`)
  return merchant.name
}

/** Cookie-authenticated writes outside the contract pipeline need the dashboard header (see dashboard-auth). */
function requireDashboardHeader(request: FastifyRequest): void {
  if (request.headers[dashboardClientHeader] !== dashboardClientValue)
    throw new AppError('dashboard-header-required', 400, `send the ${dashboardClientHeader} header`)
}

function registerPageRoutes(app: FastifyInstance): void {
  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    const html = await readBuilt('index.html')
    if (html === undefined) return notBuilt(reply)
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', pagePolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .send(html)
  }
  app.get('/dashboard', page)
  app.get('/dashboard/*', page)
  app.get('/assets/dashboard/:file', async (request, reply) => {
    const { file } = request.params as { file: string }
    const type = contentTypes[extname(file)]
    if (!assetNamePattern.test(file) || type === undefined)
      return reply.status(404).send({ code: 'route-not-found', message: 'no such asset' })
    const body = await readBuilt(file)
    if (body === undefined)
      return reply.status(404).send({ code: 'route-not-found', message: 'no such asset' })
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(body)
  })
}

/**
 * Sign-in attempts per client address, on top of the per-login limit (session.limits.ts): each attempt
 * costs a ~100 ms scrypt hash, so one address spraying many logins must not buy that CPU at the public
 * API's 5 per second. 10 per minute (burst 10) is far above a person's retries. LRU of 10,000 addresses.
 */
export const signInRateLimitSettings: RateLimitSettings = {
  requestsPerSecond: 10 / 60,
  burst: 10,
  bucketsMax: 10_000,
}

function registerSignInRoutes(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  signInLimiter: TokenBucketRateLimiter,
): void {
  // The body carries a password: log this route at warn only (Fastify's info lines hold no body, but
  // an error path must not either; the error handler logs codes, never bodies).
  app.post(signInDashboard.path, { logLevel: 'warn' }, async (request, reply) => {
    takePublicRateLimitToken(dependencies, request, reply)
    const decision = signInLimiter.take(clientBucketKey(request.ip), dependencies.now().getTime())
    if (!decision.allowed) {
      void reply.header('retry-after', String(decision.retryAfterSeconds))
      throw new AppError(
        'sign-in-rate-limited',
        429,
        `too many sign-ins from this address; retry in ${decision.retryAfterSeconds} s`,
      )
    }
    const body = parseInput(signInDashboard.body, request.body, 'body')
    try {
      const signed = await signIn(
        dependencies.pool,
        { login: body.login, password: body.password, totpCode: body.totp_code },
        dependencies.now(),
      )
      setSessionCookie(request, reply, signed.token)
      return await sessionResponse(dependencies, signed.session)
    } catch (error) {
      if (error instanceof AppError && error.code === 'sign-in-rate-limited') {
        const seconds = /retry in (\d+) s/.exec(error.message)?.[1]
        if (seconds !== undefined) void reply.header('retry-after', seconds)
      }
      throw error
    }
  })

  app.post(signOutDashboard.path, { logLevel: 'warn' }, async (request, reply) => {
    requireDashboardHeader(request)
    await signOut(dependencies.pool, readSessionCookie(request), dependencies.now())
    clearSessionCookie(reply)
    return { signed_out: true as const }
  })
}

function finalityText(network: NetworkConfig): string {
  return network.finality.kind === 'tag' ? 'finalized tag' : `${network.finality.confirmations} confirmations`
}

function networkStatus(
  network: NetworkConfig,
  health: NetworkHealth,
  scanned: { scannedBlock: bigint; haltedReason: string | null } | undefined,
  panicEngaged: boolean,
): NetworkStatusWire {
  const inUse = health.rpcUrls.find((url) => url.healthy)
  const head = inUse?.headNumber === undefined ? undefined : BigInt(inUse.headNumber)
  const scannedBlock = scanned === undefined || scanned.scannedBlock < 0n ? undefined : scanned.scannedBlock
  const lag =
    head === undefined || scannedBlock === undefined
      ? null
      : (head > scannedBlock ? head - scannedBlock : 0n).toString()
  return {
    name: network.name,
    chain_id: network.chainId,
    healthy: health.healthy && scanned?.haltedReason == null,
    head_block: head === undefined ? null : head.toString(),
    scanned_block: scannedBlock === undefined ? null : scannedBlock.toString(),
    lag_blocks: lag,
    rpc_in_use: inUse?.url ?? null,
    rpc_urls: health.rpcUrls.map((url) => ({
      url: url.url,
      healthy: url.healthy,
      head_block: url.headNumber ?? null,
      problem: url.problem ?? null,
    })),
    crediting_halted: scanned?.haltedReason ?? null,
    panic_engaged: panicEngaged,
    block_time_ms: network.blockTimeMs,
    finality: finalityText(network),
  }
}

/** ERC-20 balanceOf(address) by eth_call on the network's first http(s) URL, bounded by rpcTimeoutMs. */
async function tokenBalanceOf(network: NetworkConfig, token: `0x${string}`, holder: string): Promise<bigint> {
  const url = network.rpcUrls.find((candidate) => candidate.startsWith('http'))
  if (url === undefined) throw new Error('no http RPC URL')
  const data = `0x70a08231${holder.slice(2).toLowerCase().padStart(64, '0')}`
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_call',
      params: [{ to: token, data }, 'latest'],
    }),
    signal: AbortSignal.timeout(limits.rpcTimeoutMs),
  })
  const body = (await response.json()) as { result?: string; error?: { message?: string } }
  if (body.result === undefined) throw new Error(body.error?.message ?? 'no result')
  return body.result === '0x' ? 0n : BigInt(body.result)
}

async function onChainBalances(dependencies: RouteDependencies): Promise<DashboardOverviewWire['on_chain']> {
  const rows: DashboardOverviewWire['on_chain'] = []
  for (const network of dependencies.networks) {
    // Recorded by a signing worker at start: the API process holds no key to derive it.
    const address = await findGatewayHotWalletAddress(dependencies.pool, network.name)
    for (const token of network.tokens) {
      const base = { asset: `${token.symbol}@${network.name}`, network: network.name, symbol: token.symbol }
      if (address === undefined) {
        rows.push({
          ...base,
          address: null,
          balance: null,
          problem: 'no signing worker has recorded the hot wallet yet',
        })
        continue
      }
      try {
        const balance = await tokenBalanceOf(network, token.contractAddress, address)
        rows.push({ ...base, address, balance: formatUnits(balance, token.decimals), problem: null })
      } catch (error) {
        const problem = error instanceof Error ? error.message.slice(0, 200) : 'RPC failed'
        rows.push({ ...base, address, balance: null, problem })
      }
    }
  }
  return rows
}

/**
 * Network health and the panic switch of the store; the hot wallet on chain only for an operator store:
 * the hot wallet holds every store's money and is the operator's treasury (docs/adr/0026-operator-store.md),
 * while a store's own money is its ledger balance.
 */
async function readOverview(
  dependencies: RouteDependencies,
  merchantId: string,
): Promise<DashboardOverviewWire> {
  const { pool, networks } = dependencies
  const [probed, positions, onChain, panicAll] = await Promise.all([
    Promise.all(networks.map((network) => probeNetwork(network))),
    listScanPositions(pool),
    dependencies.operatorStores.has(merchantId) ? onChainBalances(dependencies) : [],
    isPanicEngaged(pool, merchantId, '*'),
  ])
  const statuses = await Promise.all(
    networks.map(async (network, index) => {
      const health = probed[index]
      assert(health !== undefined, 'one probe per network')
      const scanned = positions.find((position) => position.network === network.name)
      return networkStatus(network, health, scanned, await isPanicEngaged(pool, merchantId, network.name))
    }),
  )
  return { networks: statuses, on_chain: onChain, panic_all_networks: panicAll }
}

/**
 * Which outbox events a store's dashboard stream carries: the store's own, and for an operator store also
 * the installation-wide ones (merchantId null: treasury.*), which are the operator's and no other store's.
 */
export function dashboardStreamCarries(
  event: Readonly<{ merchantId: string | null }>,
  merchantId: string,
  operatorStores: OperatorStores,
): boolean {
  return event.merchantId === null ? operatorStores.has(merchantId) : event.merchantId === merchantId
}

/**
 * GET /v1/dashboard/stream: a `change` event for every outbox event the store's dashboard may see
 * (dashboardStreamCarries), read from the outbox after commit. EventSource cannot send headers, so the
 * cookie alone authenticates this GET (it changes nothing, and SameSite=Strict keeps other sites from
 * sending the cookie).
 */
function registerDashboardStream(app: FastifyInstance, dependencies: RouteDependencies, hub: LiveEventHub) {
  app.get(dashboardStreamPath, { logLevel: 'warn' }, async (request, reply) => {
    await authenticateDashboardRequest(dependencies.pool, request, 'ledger:read', dependencies.now())
    const session = dashboardSessionOf(request)
    assert(session !== undefined, 'authenticated just above')
    const release = hub.reserve(clientBucketKey(request.ip))
    const stream = openEventStream(request, reply)
    stream.send('ready', { store_id: session.merchantId })
    let unsubscribe: (() => void) | undefined
    try {
      unsubscribe = await hub.subscribe({
        matches: (event) => dashboardStreamCarries(event, session.merchantId, dependencies.operatorStores),
        deliver: async (events) => {
          for (const event of events)
            stream.send('change', {
              type: event.type,
              subject_id: event.subjectId,
              created_at: event.createdAt.toISOString(),
            })
        },
        end: stream.close,
      })
      await stream.closed
    } catch (error) {
      request.log.warn({ err: error }, 'dashboard stream failed')
      stream.close()
    } finally {
      unsubscribe?.()
      release()
    }
  })
}

export function registerDashboardRoutes(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  hub: LiveEventHub,
): void {
  registerPageRoutes(app)
  // Password and passkey sign-in share one per-address budget.
  const signInLimiter = new TokenBucketRateLimiter(signInRateLimitSettings)
  registerSignInRoutes(app, dependencies, signInLimiter)
  registerDashboardPasskeyRoutes(app, dependencies, signInLimiter, (session) =>
    sessionResponse(dependencies, session),
  )
  registerDashboardStream(app, dependencies, hub)

  registerOperation(
    app,
    getDashboardSession,
    async ({ request }) => {
      const session = dashboardSessionOf(request)
      if (session === undefined)
        throw new AppError('session-required', 401, 'this operation is for dashboard sessions')
      return await sessionResponse(dependencies, session)
    },
    dependencies,
  )

  registerOperation(
    app,
    getDashboardOverview,
    async ({ principal }) => await readOverview(dependencies, principal.merchantId),
    dependencies,
  )
}
