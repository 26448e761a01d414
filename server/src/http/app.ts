import { performance } from 'node:perf_hooks'
import proxyAddr from '@fastify/proxy-addr'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { NetworkConfig } from '../config/config.types.ts'
import { limits } from '../config/limits.ts'
import type { Pool } from '../db/pool.ts'
import { newId } from '../lib/ids.ts'
import type { Logger } from '../lib/logger.ts'
import { staticRateSource } from '../modules/invoices/invoice.rates.ts'
import { handleError } from './errors.ts'
import type { Metrics } from './metrics.ts'
import { createRouteDependencies, type RouteDependencies, type RouteOptions } from './route.ts'
import { registerApiRoutes } from './routes/api.ts'
import { registerCheckoutRoutes } from './routes/checkout.ts'
import { registerDashboardRoutes } from './routes/dashboard.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { LiveEventHub } from './routes/live-stream.ts'
import { registerCheckoutStreamRoute } from './routes/stream.ts'

export type AppDependencies = {
  pool: Pool
  logger: Logger
  metrics: Metrics
  networks: readonly NetworkConfig[]
  /** Static fiat rate table (config `rates`). */
  rates?: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Options of the /v1 API (clock, rate limits, response assertions); tests set them. */
  api?: Omit<RouteOptions, 'pool' | 'networks'>
  /** Config `trustedProxies`: the reverse proxies whose X-Forwarded-* headers are believed. */
  trustedProxies?: readonly string[]
}

const requestIdPattern = /^[A-Za-z0-9_-]{1,64}$/

/**
 * A refund link's token is a bearer secret (stored only as a hash): its routes log at warn, but the buyer's
 * page `/refund/<token>` and unmatched variants of the API route (a trailing slash, another method) reach
 * the access line through the not-found handler, so the URL is cut there whatever matched.
 */
const secretPathSegment = /^(\/+(?:v1\/+public\/+refunds|refund)\/+)[^/?#]+/i
// An absolute-form request line (`GET http://host/path`, which HTTP/1.1 servers accept) keeps its origin in
// request.url; the router strips it to match, and so does the log.
const absoluteFormOrigin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i
const percentEscape = /%([0-9a-f]{2})/gi
/** A path segment this long may be a token (refund links' are 43 characters); ids (30 at most) pass. */
const longPathSegment = /[^/]{31,}/g

/**
 * The URL as logged: never a query (any query may carry whatever a client pasted, a refund link
 * included). A route's own path has its refund token cut, matched with escapes decoded so that
 * `/r%65fund/<token>` is cut too. A URL that matched no route, or only a catch-all (`/dashboard/*`), is
 * whatever a client sent: every long path segment is cut.
 */
function loggedUrl(request: FastifyRequest): string {
  const url = request.url.replace(absoluteFormOrigin, '')
  const queryAt = url.search(/[?#]/)
  const path = queryAt < 0 ? url : url.slice(0, queryAt)
  const query = queryAt < 0 ? '' : '?…'
  const route = request.routeOptions.url
  if (route === undefined || route.includes('*')) return `${path.replace(longPathSegment, '…')}${query}`
  const decoded = path.replace(percentEscape, (_escape, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  )
  return `${secretPathSegment.test(decoded) ? decoded.replace(secretPathSegment, '$1…') : path}${query}`
}

/**
 * One access line per request, written when it ends, instead of Fastify's two (received, completed). Flat
 * fields, no serialized request or reply. `request.log` carries the route's level: routes with a secret in
 * their path log at warn, so their URL never reaches it. A completed line names no field a redaction path
 * names (method, URL, address, status, time), so it is written by an unredacted child of the same logger:
 * redaction's wildcard paths were ~90 % of the line's cost (measured ~35–45 µs of ~40–50 µs a line, 8–9 %
 * of the API's CPU per invoice). Error lines carry the error and stay redacted.
 */
class AccessLogController extends LogController {
  constructor(private readonly completedLog: Logger) {
    super()
  }

  override incomingRequest(): void {}

  // Fastify's own lines for these two log the whole request (its raw URL, a refund token perhaps).
  override writeHeadError(error: Error, request: FastifyRequest): void {
    request.log.warn(
      { method: request.method, url: loggedUrl(request), err: error },
      'writing the head failed',
    )
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    request.log[reply.statusCode >= 500 ? 'error' : 'info'](
      { method: request.method, url: loggedUrl(request), statusCode: reply.statusCode, err: error },
      'request failed',
    )
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      request.log.error(
        {
          method: request.method,
          url: loggedUrl(request),
          err: error,
          responseTimeMs: reply.elapsedTime,
        },
        'request errored',
      )
      return
    }
    this.writeCompleted(request, reply, { remoteAddress: request.ip, responseTimeMs: reply.elapsedTime })
  }

  /**
   * The completed line, with the address and time as observed. For a request the router refused, the
   * caller gives both: Fastify builds it without its trustProxy handling and never starts its reply's timer.
   */
  writeCompleted(request: FastifyRequest, reply: FastifyReply, observed: CompletedRequestFacts): void {
    // request.log is a child of the pino logger the app was built with (loggerInstance).
    if (!(request.log as Logger).isLevelEnabled('info')) return
    this.completedLog.info(
      {
        reqId: request.id,
        method: request.method,
        url: loggedUrl(request),
        remoteAddress: observed.remoteAddress,
        statusCode: reply.statusCode,
        responseTimeMs: observed.responseTimeMs,
      },
      'request completed',
    )
  }
}

type CompletedRequestFacts = { remoteAddress: string; responseTimeMs: number }

/**
 * Which socket peers and X-Forwarded-For hops are trusted proxies: Fastify's trustProxy option and the
 * router's refusals (which Fastify builds without that option) use this one function, so both see the
 * same client address.
 */
type ProxyTrust = (address: string, hop: number) => boolean

function proxyTrustOf(trustedProxies: readonly string[] | undefined): ProxyTrust | undefined {
  return trustedProxies === undefined || trustedProxies.length === 0
    ? undefined
    : proxyAddr.compile([...trustedProxies])
}

/** The client address of a request Fastify built without trustProxy, as trustProxy would give it. */
function clientAddressReader(trust: ProxyTrust | undefined): (request: FastifyRequest) => string {
  return trust === undefined ? (request) => request.ip : (request) => proxyAddr(request.raw, trust)
}

/** The HTTP adapter: routes call module services; no business logic lives here. */
export async function buildApp(
  dependencies: AppDependencies,
  registerExtraRoutes?: (app: FastifyInstance, api: RouteDependencies) => void,
): Promise<FastifyInstance> {
  const accessLog = new AccessLogController(dependencies.logger.child({}, { redact: [] }))
  const countRequest = (request: FastifyRequest, reply: FastifyReply, responseTimeMs = reply.elapsedTime) => {
    const route = request.routeOptions.url ?? 'unmatched'
    dependencies.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) })
    dependencies.metrics.httpDuration.observe({ method: request.method, route }, responseTimeMs / 1000)
  }
  const proxyTrust = proxyTrustOf(dependencies.trustedProxies)
  const routerRefusalAddress = clientAddressReader(proxyTrust)
  const app = Fastify({
    loggerInstance: dependencies.logger as FastifyBaseLogger,
    bodyLimit: limits.requestBodyBytesMax,
    // A caller's X-Request-Id is kept (when well-formed) so logs join across systems.
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && requestIdPattern.test(given) ? given : newId('req')
    },
    return503OnClosing: true,
    logController: accessLog,
    // Behind a TLS-terminating proxy, the client's address (rate limits) and scheme (Secure cookies,
    // passkey origins) come from its X-Forwarded-* headers, believed only from the configured proxies:
    // from anyone else they would let a caller pick its own rate-limit bucket.
    trustProxy: proxyTrust ?? false,
    // The router's own refusals (a malformed percent-encoding, a path parameter over maxParamLength)
    // bypass setErrorHandler; routed through it, they get the typed body every other error has. Fastify
    // never completes such a request, so its access line and its count are written here (an unmatched
    // URL: long segments cut, as for a 404). The router refuses synchronously, as the request arrives, so
    // the time from here to the answer is the request's whole time in the server.
    frameworkErrors: (error, request, reply) => {
      const startedMs = performance.now()
      // No onSend hook runs for these either: the request id is set here, as the hook sets it elsewhere.
      void reply.header('x-request-id', request.id)
      handleError(error, request, reply)
      const responseTimeMs = performance.now() - startedMs
      accessLog.writeCompleted(request, reply, {
        remoteAddress: routerRefusalAddress(request),
        responseTimeMs,
      })
      countRequest(request, reply, responseTimeMs)
    },
  })
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((_request, reply) => {
    void reply.status(404).send({ code: 'route-not-found', message: 'no such route' })
  })
  // No access line is written for a request whose client went away before the answer (Fastify never
  // completes it): this one says it came.
  app.addHook('onRequestAbort', async (request) => {
    request.log.info(
      { method: request.method, url: loggedUrl(request), remoteAddress: request.ip },
      'request aborted by the client',
    )
  })
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => countRequest(request, reply))
  registerHealthRoutes(app, dependencies)
  const api = createRouteDependencies({
    pool: dependencies.pool,
    batchedWrites: {
      written: (operation, requests) =>
        dependencies.metrics.batchedWriteRequests.observe({ operation }, requests),
      failed: (operation, requests, error) => {
        dependencies.metrics.batchedWriteFailures.inc({ operation })
        // The requests are answered one by one after this; the cause is the operator's to see.
        dependencies.logger.warn(
          { err: error, operation, requests },
          requests > 1
            ? 'a batched write failed as a whole; its requests run again alone'
            : 'a one-statement write failed',
        )
      },
    },
    networks: dependencies.networks,
    ...(dependencies.rates === undefined ? {} : { rateSource: staticRateSource(dependencies.rates) }),
    ...dependencies.api,
  })
  registerApiRoutes(app, api)
  registerCheckoutRoutes(app)
  // Live updates (SSE) for the checkout and the dashboard; open streams end before the server closes.
  const liveEvents = new LiveEventHub(dependencies.pool, dependencies.logger)
  app.addHook('preClose', async () => await liveEvents.close())
  registerCheckoutStreamRoute(app, api, liveEvents)
  registerDashboardRoutes(app, api, liveEvents)
  registerExtraRoutes?.(app, api)
  await app.ready()
  return app
}
