import { createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { AnyOperation } from '@sluice/sdk/api/operation'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { NetworkConfig } from '../config/config.types.ts'
import { createSiblingPool, type Pool } from '../db/pool.ts'
import type { BatchWrite } from '../db/statement.ts'
import { assert } from '../lib/assert.ts'
import { NaturalBatcher } from '../lib/batcher.ts'
import { AppError, type ErrorDetail, isAppError } from '../lib/errors.ts'
import { type RateSource, staticRateSource } from '../modules/invoices/invoice.rates.ts'
import { authenticateApiKeyFor } from '../modules/merchants/merchant.service.ts'
import type { OperatorStores, Principal } from '../modules/merchants/merchant.types.ts'
import { authenticateDashboardRequest, isDashboardRequest } from './dashboard-auth.ts'
import { type ErrorBody, parseInput, validationFailed } from './errors.ts'
import { httpLimits } from './http.limits.ts'
import {
  type ClaimWithWriteRequest,
  type ClaimWithWriteResult,
  canonicalJson,
  claimIdempotencyKey,
  claimWithWrites,
  completeIdempotencyKey,
  createIdempotencyScope,
  hashIdempotentRequest,
  type IdempotencyRecordKey,
  type IdempotencyScope,
  idempotencyKeyInProgress,
  idempotencyKeyReused,
  readIdempotencyKey,
  releaseIdempotencyKey,
} from './idempotency.ts'
import {
  defaultRateLimitSettings,
  type RateLimitSettings,
  rateLimited,
  TokenBucketRateLimiter,
} from './rate-limit.ts'

/**
 * Binds a contract operation (sdk/src/api) to a handler. Every operation gets the same pipeline, in this
 * order: authenticate the key for the operation's scope (401/403), rate-limit the key (429), read the
 * Idempotency-Key (400), validate params/query/body (422), claim the key (409/422/replay), run the handler.
 * Input problems are answered before the claim, so nothing is stored for a request that never ran.
 * Public operations (scope 'public') skip authentication and are rate-limited per client address.
 */

/**
 * The public (keyless) surface's own rate limit, per client address. A checkout page polls its invoice
 * every few seconds and loads a QR image or two; 5 requests per second sustained is far above one buyer's
 * need, and a burst of 30 covers a page load with retries. It is low enough that enumerating link or
 * invoice ids, or hammering invoice creation through payment links, is slow from any one address. The
 * bucket map is an LRU of 10,000 addresses (~1 MB): more distinct addresses than that at once is a
 * distributed attack, which only an upstream proxy can stop.
 */
export const publicRateLimitSettings: RateLimitSettings = {
  requestsPerSecond: 5,
  burst: 30,
  bucketsMax: 10_000,
}

export type RouteOptions = Readonly<{
  pool: Pool
  /** Injectable time for rate limiting and idempotency expiry (tests move it). */
  now?: () => Date
  /** Development assertion: every handler result must match the contract's response schema exactly. */
  assertResponses?: boolean
  rateLimit?: RateLimitSettings
  /** Limit of public operations per client address; default publicRateLimitSettings. */
  publicRateLimit?: RateLimitSettings
  /** Override of httpLimits.idempotencyClaimLeaseMs (tests). */
  idempotencyClaimLeaseMs?: number
  /** Configured networks: their tokens give each asset's symbol and decimals (balances). Default none. */
  networks?: readonly NetworkConfig[]
  /** Where fiat-priced invoices get their rate; default: the static USD table of config `rates`. */
  rateSource?: RateSource
  /**
   * Config `webhooks.allowLocalEndpoints`: endpoints registered through the API may be http:// and reach
   * loopback and private hosts (allowInsecure). For devnets and tests; default false.
   */
  webhookLocalEndpoints?: boolean
  /**
   * Config `operatorStores`, resolved at start (the devnet's demo store when unset there): the stores
   * whose keys and users see and decide the treasury (docs/adr/0026-operator-store.md). Default none.
   */
  operatorStores?: readonly string[]
  /** Told of each batched one-statement write (ADR 0028): its size, and whether it failed as a whole. */
  batchedWrites?: BatchedWriteObserver
}>

export type BatchedWriteObserver = Readonly<{
  written: (operationId: string, requests: number) => void
  failed: (operationId: string, requests: number, error: unknown) => void
}>

export type RouteDependencies = Readonly<{
  pool: Pool
  now: () => Date
  assertResponses: boolean
  rateLimiter: TokenBucketRateLimiter
  /** Public operations: buckets per client address (a separate map, so buyers cannot crowd out keys). */
  publicRateLimiter: TokenBucketRateLimiter
  idempotencyClaimLeaseMs: number | undefined
  networks: readonly NetworkConfig[]
  rateSource: RateSource
  webhookLocalEndpoints: boolean
  operatorStores: OperatorStores
  batchedWrites: BatchedWriteObserver | undefined
}>

export function createRouteDependencies(options: RouteOptions): RouteDependencies {
  return {
    pool: options.pool,
    now: options.now ?? (() => new Date()),
    assertResponses: options.assertResponses ?? false,
    rateLimiter: new TokenBucketRateLimiter(options.rateLimit ?? defaultRateLimitSettings),
    publicRateLimiter: new TokenBucketRateLimiter(options.publicRateLimit ?? publicRateLimitSettings),
    idempotencyClaimLeaseMs: options.idempotencyClaimLeaseMs,
    networks: options.networks ?? [],
    rateSource: options.rateSource ?? staticRateSource({ USD: { USDT: '1', USDC: '1' } }),
    webhookLocalEndpoints: options.webhookLocalEndpoints ?? false,
    operatorStores: new Set(options.operatorStores ?? []),
    batchedWrites: options.batchedWrites,
  }
}

type Parsed<Schema> = Schema extends z.ZodType ? z.output<Schema> : undefined

/** The caller's key: absent for public operations, possibly absent when the operation is not known. */
type PrincipalOf<Op extends AnyOperation> = 'public' extends Op['scope']
  ? Op['scope'] extends 'public'
    ? undefined
    : Principal | undefined
  : Principal

export type HandlerContext<Op extends AnyOperation> = Readonly<{
  principal: PrincipalOf<Op>
  params: Parsed<Op['params']>
  query: Parsed<Op['query']>
  body: Parsed<Op['body']>
  request: FastifyRequest
  /** Present when the request carries an Idempotency-Key (always, for money-moving operations). */
  idempotency: Op['idempotency'] extends 'required' ? IdempotencyScope : IdempotencyScope | undefined
}>

export type OperationHandler<Op extends AnyOperation> = (
  context: HandlerContext<Op>,
) => Promise<z.output<Op['response']>>

export type OperationOptions<Op extends AnyOperation> = Readonly<{
  /**
   * What the idempotency record keeps of a success response (default: all of it). Responses carrying a
   * secret shown once (a new API key) store a copy without it: secrets are never stored.
   */
  storedResponse?: (response: z.output<Op['response']>) => z.output<Op['response']>
  /**
   * Public operations that take an Idempotency-Key: the store whose key space the key lives in (e.g. the
   * payment link's store), from the validated input. Called before the claim; may throw (e.g. 404).
   */
  idempotencyOwner?: (input: IdempotencyOwnerInput<Op>) => Promise<string>
  /**
   * The path carries a bearer secret (a refund link token): the route logs at warn, so Fastify's
   * per-request info lines, which include the URL, never write the secret to the logs.
   */
  secretInPath?: boolean
  /**
   * A check of the caller beyond its scope (e.g. "an operator store": treasury routes), run right after
   * authentication and before the rate limit, the Idempotency-Key and input validation, so a refused
   * caller learns nothing from the input's errors and stores nothing under its key. Throws to refuse.
   */
  authorize?: (principal: Principal) => void
  /**
   * The operation's one-statement form (docs/adr/0022-single-statement-invoice-creation.md), made with
   * `oneStatementForm`: from the validated input, the response and its write's row, built without the
   * database; the route then claims the Idempotency-Key, writes and stores the response in one
   * statement, batched with concurrent requests of the operation (ADR 0028). A plan that is undefined,
   * or throws, sends the request the two-step way (claim, then the handler), which also stores a
   * refusal under the key — so a throw here needs no handling of its own.
   */
  singleStatement?: OneStatementForm<z.output<Op['response']>>
}>

export type SingleStatementPlan<Response, Row> = Readonly<{
  response: Response
  /** The request's row of the form's batched write. */
  row: Row
  /**
   * Called when the statement ran and wrote nothing (the key was held): gives back what the plan
   * reserved. Not called when the statement failed: what it reserved may be why, so it is dropped.
   */
  release: () => void
}>

/** A one-statement form with its row type hidden: rows reach `write` only from the form's own plans. */
export type OneStatementForm<Response> = Readonly<{
  write: BatchWrite<unknown>
  plan: (context: HandlerContext<AnyOperation>) => Promise<SingleStatementPlan<Response, unknown> | undefined>
}>

export function oneStatementForm<Op extends AnyOperation, Row>(
  write: BatchWrite<Row>,
  plan: (
    context: HandlerContext<Op>,
  ) => Promise<SingleStatementPlan<z.output<Op['response']>, Row> | undefined>,
): OneStatementForm<z.output<Op['response']>> {
  return {
    write: { name: write.name, build: (rows, gate) => write.build(rows as readonly Row[], gate) },
    plan: plan as unknown as OneStatementForm<z.output<Op['response']>>['plan'],
  }
}

export type IdempotencyOwnerInput<Op extends AnyOperation> = Readonly<{
  params: Parsed<Op['params']>
  query: Parsed<Op['query']>
  body: Parsed<Op['body']>
}>

type Binding = Readonly<{
  operation: AnyOperation
  handler: (context: HandlerContext<AnyOperation>) => Promise<unknown>
  dependencies: RouteDependencies
  storedResponse: (response: unknown) => unknown
  idempotencyOwner: ((input: IdempotencyOwnerInput<AnyOperation>) => Promise<string>) | undefined
  authorize: ((principal: Principal) => void) | undefined
  singleStatement: OneStatement | undefined
}>

/** A bound one-statement form and the batcher its requests go through. */
type OneStatement = Readonly<{
  form: OneStatementForm<unknown>
  batcher: NaturalBatcher<ClaimWithWriteRequest<unknown>, ClaimWithWriteResult>
}>

function bindOneStatement(
  app: FastifyInstance,
  form: OneStatementForm<unknown>,
  operationId: string,
  dependencies: RouteDependencies,
): OneStatement {
  const { pool, batchedWrites } = dependencies
  // Connections of its own, one per batch in flight, planning the statement once (ADR 0028): with
  // PostgreSQL's default, the batch's arrays kept it on custom plans, re-planned on every run (~0.6-2 ms
  // of the server's CPU per statement, more than the rows' own writes).
  const batchPool = createSiblingPool(pool, {
    sizeMax: httpLimits.oneStatementBatchesInFlightMax,
    applicationName: `${pool.options.application_name ?? 'sluice'}-batches`,
    settings: { plan_cache_mode: 'force_generic_plan' },
  })
  app.addHook('onClose', async () => await batchPool.end())
  const run = async (requests: readonly ClaimWithWriteRequest<unknown>[]) => {
    try {
      const outcomes = await claimWithWrites(batchPool, operationId, requests, form.write)
      batchedWrites?.written(operationId, requests.length)
      return outcomes
    } catch (error) {
      batchedWrites?.failed(operationId, requests.length, error)
      throw error
    }
  }
  const batcher = new NaturalBatcher<ClaimWithWriteRequest<unknown>, ClaimWithWriteResult>(run, {
    inFlightMax: httpLimits.oneStatementBatchesInFlightMax,
    batchMax: httpLimits.oneStatementBatchRequestsMax,
    // Duplicates of a key never share a statement, nor run in two at once (lib/batcher.ts).
    conflictKey: (request) => `${request.claim.merchantId}\n${request.claim.key}`,
  })
  return { form, batcher }
}

const boundOperations = new WeakMap<FastifyInstance, Map<string, AnyOperation>>()

export function registerOperation<Op extends AnyOperation>(
  app: FastifyInstance,
  operation: Op,
  handler: OperationHandler<Op>,
  dependencies: RouteDependencies,
  options: OperationOptions<Op> = {},
): void {
  const bound = boundOperations.get(app) ?? new Map<string, AnyOperation>()
  boundOperations.set(app, bound)
  assert(!bound.has(operation.operationId), `operation ${operation.operationId} has two handlers`)
  bound.set(operation.operationId, operation)
  const isPublic = operation.scope === 'public'
  // Keyed operations take the store from the key; a public one must say whose key space it uses.
  assert(
    (isPublic && operation.idempotency !== 'none') === (options.idempotencyOwner !== undefined),
    `operation ${operation.operationId}: idempotencyOwner is for public operations taking an Idempotency-Key`,
  )
  assert(!isPublic || options.authorize === undefined, `${operation.operationId}: public, no caller to check`)
  const binding: Binding = {
    operation,
    handler: handler as unknown as Binding['handler'],
    dependencies,
    storedResponse: (options.storedResponse ?? ((response) => response)) as (response: unknown) => unknown,
    idempotencyOwner: options.idempotencyOwner as Binding['idempotencyOwner'],
    authorize: options.authorize,
    singleStatement:
      options.singleStatement === undefined
        ? undefined
        : bindOneStatement(
            app,
            options.singleStatement as OneStatementForm<unknown>,
            operation.operationId,
            dependencies,
          ),
  }
  // Contract paths use `:name` segments, which is Fastify's syntax too.
  app.route({
    method: operation.method,
    url: operation.path,
    ...(options.secretInPath === true ? { logLevel: 'warn' } : {}),
    handler: async (request, reply) => await handleOperation(binding, request, reply),
  })
}

/** Start-up check: every contract operation is bound to exactly one handler on this app. */
export function assertOperationsRegistered(app: FastifyInstance, operations: readonly AnyOperation[]): void {
  const bound = boundOperations.get(app)
  const missing = operations.filter((operation) => bound?.get(operation.operationId) !== operation)
  assert(
    missing.length === 0,
    `operations without a handler: ${missing.map((op) => op.operationId).join(', ')}`,
  )
}

async function handleOperation(
  binding: Binding,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const { operation, dependencies } = binding
  const principal =
    operation.scope === 'public'
      ? undefined
      : isDashboardRequest(request)
        ? await authenticateDashboardRequest(dependencies.pool, request, operation.scope, dependencies.now())
        : await authenticateApiKeyFor(dependencies.pool, request.headers.authorization, operation.scope)
  if (principal !== undefined) binding.authorize?.(principal)
  takeRateLimitToken(dependencies, principal, request, reply)
  const idempotencyKey = readIdempotencyKey(request.headers['idempotency-key'], operation.idempotency)
  const input = parseOperationInput(operation, request)
  const context = { principal, ...input, request, idempotency: undefined }
  if (idempotencyKey === undefined) {
    const result = await binding.handler(context)
    checkResponse(binding, result)
    return await reply.status(operation.successStatus).send(result)
  }
  const record =
    principal === undefined
      ? { merchantId: await ownerOf(binding, input), key: publicIdempotencyKey(idempotencyKey) }
      : { merchantId: principal.merchantId, key: idempotencyKey }
  return await runIdempotent(binding, request, reply, context, record)
}

/** A key's bucket, or for public operations the client address's (429 with Retry-After when empty). */
function takeRateLimitToken(
  dependencies: RouteDependencies,
  principal: Principal | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  if (principal === undefined) {
    takePublicRateLimitToken(dependencies, request, reply)
    return
  }
  const decision = dependencies.rateLimiter.take(principal.apiKeyId, dependencies.now().getTime())
  if (decision.allowed) return
  void reply.header('retry-after', String(decision.retryAfterSeconds))
  throw rateLimited(decision.retryAfterSeconds)
}

/**
 * The public limit, per client address; also for public routes outside the contract (the QR image).
 * `request.ip` is the socket's peer unless Fastify's trustProxy is set, so behind a reverse proxy every
 * buyer shares the proxy's bucket until it is.
 */
export function takePublicRateLimitToken(
  dependencies: RouteDependencies,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const bucket = `ip:${clientBucketKey(request.ip)}`
  const decision = dependencies.publicRateLimiter.take(bucket, dependencies.now().getTime())
  if (decision.allowed) return
  void reply.header('retry-after', String(decision.retryAfterSeconds))
  throw new AppError(
    'rate-limited',
    429,
    `too many requests from this address; retry in ${decision.retryAfterSeconds} s`,
  )
}

/**
 * The rate-limit bucket of a client address. An IPv6 client usually holds a whole /64 and can rotate
 * through it, so IPv6 addresses share their /64's bucket; IPv4 (and IPv4-mapped) addresses are their own.
 */
export function clientBucketKey(address: string): string {
  if (!address.includes(':') || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)) return address
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]?.split('::') ?? []
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const missing = address.includes('::') ? 8 - headGroups.length - tailGroups.length : 0
  const groups = [...headGroups, ...Array.from({ length: missing }, () => '0'), ...tailGroups]
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/**
 * Public callers are strangers: their keys are hashed into a namespace of their own, so a buyer can
 * neither collide with nor burn (422 idempotency-key-reused) a key the merchant's backend uses.
 */
function publicIdempotencyKey(key: string): string {
  return `public:${createHash('sha256').update(key).digest('hex')}`
}

async function ownerOf(binding: Binding, input: IdempotencyOwnerInput<AnyOperation>): Promise<string> {
  assert(binding.idempotencyOwner !== undefined, `${binding.operation.operationId} has no idempotencyOwner`)
  return await binding.idempotencyOwner(input)
}

/** Validates every input part and reports all their problems in one 422. */
function parseOperationInput(operation: AnyOperation, request: FastifyRequest) {
  const details: ErrorDetail[] = []
  const parse = (schema: z.ZodType | undefined, value: unknown, part: 'params' | 'query' | 'body') => {
    if (schema === undefined) return undefined
    try {
      return parseInput(schema, value, part)
    } catch (error) {
      if (!isAppError(error) || error.code !== 'validation-failed') throw error
      details.push(...error.details)
      return undefined
    }
  }
  const params = parse(operation.params, request.params, 'params')
  const query = parse(operation.query, request.query, 'query')
  const body = parse(operation.body, request.body, 'body')
  if (details.length > 0) throw validationFailed(details)
  return { params, query, body } as { params: never; query: never; body: never }
}

/** In development and tests, a handler that returns anything but the contract's response is a bug. */
function checkResponse(binding: Binding, result: unknown): void {
  if (!binding.dependencies.assertResponses) return
  const { operation } = binding
  const parsed = operation.response.safeParse(result)
  assert(parsed.success, `${operation.operationId}: response breaks the contract: ${parsed.error?.message}`)
  // The schema strips unknown fields, so a difference means the handler leaked a field the contract lacks.
  assert(isDeepStrictEqual(parsed.data, result), `${operation.operationId}: response has undeclared fields`)
}

async function runIdempotent(
  binding: Binding,
  request: FastifyRequest,
  reply: FastifyReply,
  context: HandlerContext<AnyOperation>,
  record: IdempotencyRecordKey,
): Promise<unknown> {
  const { operation, dependencies } = binding
  const claimInput = {
    ...record,
    operationId: operation.operationId,
    // An operation without a body ignores whatever body is sent, so it is no part of the request; nor is
    // it validated, and hashing an arbitrarily deep one would overflow the stack (a 500).
    requestHash: hashIdempotentRequest(
      request.method,
      request.url.split('?')[0] ?? '',
      operation.body === undefined ? undefined : request.body,
    ),
    now: dependencies.now(),
    ...(dependencies.idempotencyClaimLeaseMs === undefined
      ? {}
      : { leaseMs: dependencies.idempotencyClaimLeaseMs }),
  }
  const outcome = await runInOneStatement(binding, context, claimInput)
  if (outcome?.kind === 'written') return await reply.status(operation.successStatus).send(outcome.response)
  const claim =
    outcome === undefined || outcome.kind === 'take-over'
      ? await claimIdempotencyKey(dependencies.pool, claimInput)
      : outcome
  if (claim.kind === 'replay')
    return await reply.status(claim.status).header('idempotent-replayed', 'true').send(claim.body)
  if (claim.kind === 'in-progress') throw idempotencyKeyInProgress()
  if (claim.kind === 'reused') throw idempotencyKeyReused()
  const claimed = { ...record, claimToken: claim.claimToken }
  const { scope: idempotency, completedByHandler } = createIdempotencyScope(claimed, {
    status: operation.successStatus,
    stored: binding.storedResponse,
    now: dependencies.now,
  })
  let result: unknown
  try {
    result = await binding.handler({ ...context, idempotency })
    checkResponse(binding, result)
  } catch (error) {
    await settleFailure(binding, request, claimed, error)
    throw error
  }
  if (completedByHandler()) return await reply.status(operation.successStatus).send(result)
  await completeIdempotencyKey(dependencies.pool, {
    ...claimed,
    status: operation.successStatus,
    body: binding.storedResponse(result),
    now: dependencies.now(),
  }).catch((error: unknown) => {
    // The work is done; answering 500 would invite a retry that repeats it. The claim stays open until
    // the lease ends, so a retry before then gets 409 rather than a second execution.
    request.log.error({ err: error }, 'storing the idempotent response failed')
  })
  return await reply.status(operation.successStatus).send(result)
}

/**
 * The one-statement path, when the operation has one and its plan could be made; undefined sends the
 * request the two-step way. A plan that throws is dropped: the two-step path runs the handler, which
 * throws the same refusal and stores it under the key.
 */
async function runInOneStatement(
  binding: Binding,
  context: HandlerContext<AnyOperation>,
  claim: Parameters<typeof claimIdempotencyKey>[1],
): Promise<
  { kind: 'written'; response: unknown } | Exclude<ClaimWithWriteResult, { kind: 'written' }> | undefined
> {
  const oneStatement = binding.singleStatement
  if (oneStatement === undefined) return undefined
  const plan = await oneStatement.form.plan(context).catch(() => undefined)
  if (plan === undefined) return undefined
  checkResponse(binding, plan.response)
  const storedBody = binding.storedResponse(plan.response)
  const result = await oneStatement.batcher.submit({
    claim: { ...claim, status: binding.operation.successStatus, responseBody: storedBody },
    row: plan.row,
  })
  if (result.kind === 'written') return { kind: 'written', response: plan.response }
  // A replay of the very response this plan stored is its own write: its statement committed, the
  // reply was lost, and the rerun alone found the key (lib/batcher.ts). What it reserved is in use.
  const ownWrite = result.kind === 'replay' && canonicalJson(result.body) === canonicalJson(storedBody)
  if (!ownWrite) plan.release()
  return result
}

/**
 * A 4xx is the request's answer and is kept (a retry gets the same refusal); a 5xx or crash means
 * nothing is known, so the claim is released and a retry runs again.
 */
async function settleFailure(
  binding: Binding,
  request: FastifyRequest,
  claimed: IdempotencyRecordKey & { claimToken: string },
  error: unknown,
): Promise<void> {
  const { pool, now } = binding.dependencies
  try {
    if (isAppError(error) && error.httpStatus >= 400 && error.httpStatus < 500) {
      const body: ErrorBody = { code: error.code, message: error.message }
      if (error.details.length > 0) body.errors = error.details
      await completeIdempotencyKey(pool, { ...claimed, status: error.httpStatus, body, now: now() })
    } else await releaseIdempotencyKey(pool, claimed)
  } catch (storeError) {
    request.log.error(
      { err: storeError },
      'settling the idempotency key failed; it frees itself after the lease',
    )
  }
}
