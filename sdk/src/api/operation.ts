import type { z } from 'zod'
import type { ApiScope } from './common.ts'

/**
 * One API operation, defined once and used three ways: the server binds a handler to it (route.ts), the
 * OpenAPI document and /docs are generated from it, and the SDK client derives a typed method from it.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/**
 * Who may call: a key holding that scope; `'admin'` = a key holding every scope (key management);
 * `null` = any valid key of the store; `'public'` = anyone, without a key (the hosted checkout and refund
 * pages a buyer opens). Public operations live under /v1/public/ and are rate-limited per client address.
 */
export type ScopeRequirement = ApiScope | 'admin' | null | 'public'

/** Public paths share a prefix, so an operator's proxy can treat the unauthenticated surface apart. */
export const publicPathPrefix = '/v1/public/'

/**
 * `required`: money-moving; the request is refused without an Idempotency-Key. `optional`: a key is
 * honoured when sent. `none`: the header is ignored (reads, and writes that are naturally idempotent).
 */
export type IdempotencyMode = 'required' | 'optional' | 'none'

export type ErrorSpec = Readonly<{ code: string; status: number; description: string }>

export type Operation<
  Id extends string = string,
  Response extends z.ZodType = z.ZodType,
  Params extends z.ZodType | undefined = z.ZodType | undefined,
  Query extends z.ZodType | undefined = z.ZodType | undefined,
  Body extends z.ZodType | undefined = z.ZodType | undefined,
  Idempotency extends IdempotencyMode = IdempotencyMode,
  Scope extends ScopeRequirement = ScopeRequirement,
> = Readonly<{
  operationId: Id
  method: HttpMethod
  /** Starts with /v1/; `:name` segments are path parameters, described by `params`. */
  path: `/v1/${string}`
  summary: string
  description: string
  tags: readonly string[]
  scope: Scope
  /** Moves money (or reserves it): an Idempotency-Key is required. */
  moneyMoving: boolean
  idempotency: Idempotency
  params: Params
  query: Query
  body: Body
  response: Response
  successStatus: 200 | 201
  /** Codes this operation itself can return; the ones every operation shares are added by operationErrors. */
  errors: readonly ErrorSpec[]
}>

export type AnyOperation = Operation<
  string,
  z.ZodType,
  z.ZodType | undefined,
  z.ZodType | undefined,
  z.ZodType | undefined,
  IdempotencyMode,
  ScopeRequirement
>

type OperationSpec<
  Id extends string,
  Response extends z.ZodType,
  Params extends z.ZodType | undefined,
  Query extends z.ZodType | undefined,
  Body extends z.ZodType | undefined,
  Idempotency extends IdempotencyMode,
  Scope extends ScopeRequirement,
> = Omit<
  Operation<Id, Response, Params, Query, Body, Idempotency, Scope>,
  'params' | 'query' | 'body' | 'idempotency' | 'errors'
> & {
  params?: Params
  query?: Query
  body?: Body
  idempotency?: Idempotency
  errors?: readonly ErrorSpec[]
}

export class ContractError extends Error {
  override readonly name = 'ContractError'
}

/** Fills defaults and refuses contradictions (a money-moving operation must require an Idempotency-Key). */
export function defineOperation<
  const Id extends string,
  Response extends z.ZodType,
  const MoneyMoving extends boolean,
  Params extends z.ZodType | undefined = undefined,
  Query extends z.ZodType | undefined = undefined,
  Body extends z.ZodType | undefined = undefined,
  // Omitted: money-moving operations require a key, others take none (the runtime default below).
  Idempotency extends IdempotencyMode = MoneyMoving extends true ? 'required' : 'none',
  const Scope extends ScopeRequirement = ScopeRequirement,
>(
  spec: OperationSpec<Id, Response, Params, Query, Body, Idempotency, Scope> & { moneyMoving: MoneyMoving },
): Operation<Id, Response, Params, Query, Body, Idempotency, Scope> {
  const idempotency = (spec.idempotency ?? (spec.moneyMoving ? 'required' : 'none')) as Idempotency
  if (spec.moneyMoving && idempotency !== 'required')
    throw new ContractError(`${spec.operationId}: a money-moving operation must require an Idempotency-Key`)
  if (idempotency !== 'none' && spec.method === 'GET')
    throw new ContractError(`${spec.operationId}: GET is safe; it takes no Idempotency-Key`)
  if (!spec.path.startsWith('/v1/')) throw new ContractError(`${spec.operationId}: paths start with /v1/`)
  if ((spec.scope === 'public') !== spec.path.startsWith(publicPathPrefix))
    throw new ContractError(
      `${spec.operationId}: public operations, and only they, live under ${publicPathPrefix}`,
    )
  return {
    ...spec,
    params: spec.params as Params,
    query: spec.query as Query,
    body: spec.body as Body,
    idempotency,
    errors: spec.errors ?? [],
  }
}

/** The `:name` segments of a path, in order. */
export function pathParameterNames(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment.startsWith(':'))
    .map((segment) => segment.slice(1))
}

const error = (code: string, status: number, description: string): ErrorSpec => ({
  code,
  status,
  description,
})

/** Errors any authenticated operation can return, by the feature that causes them. */
export const sharedErrors = {
  authentication: [
    error('authentication-required', 401, 'No "Authorization: Bearer <key>" header was sent.'),
    error('api-key-invalid', 401, 'The API key is malformed, unknown or revoked.'),
  ],
  scope: [error('scope-missing', 403, 'The API key lacks the scope this operation needs.')],
  rateLimit: [error('rate-limited', 429, 'Too many requests for this API key; wait Retry-After seconds.')],
  rateLimitPublic: [
    error('rate-limited', 429, 'Too many requests from this client address; wait Retry-After seconds.'),
  ],
  validation: [error('validation-failed', 422, 'Some input is invalid; `errors` lists each path.')],
  body: [
    error('invalid-json', 400, 'The body is not valid JSON.'),
    error('request-body-too-large', 413, 'The body exceeds the size limit.'),
    error('unsupported-media-type', 415, 'Send the body as application/json.'),
  ],
  idempotencyRequired: [
    error('idempotency-key-required', 400, 'This operation moves money: send an Idempotency-Key header.'),
  ],
  idempotency: [
    error('idempotency-key-invalid', 400, 'The Idempotency-Key is not 1-255 characters of [A-Za-z0-9_-:.].'),
    error('idempotency-key-in-progress', 409, 'A request with this key is still running; retry shortly.'),
    error('idempotency-key-reused', 422, 'This key was used with a different request; use a new key.'),
  ],
  internal: [error('internal-error', 500, 'An unexpected failure; safe to retry with the same key.')],
} as const

/** Every error code an operation can return: its own plus those of the features it uses, by status. */
export function operationErrors(operation: AnyOperation): ErrorSpec[] {
  // A public operation reads no key, so it can fail neither authentication nor a scope check.
  const all: ErrorSpec[] =
    operation.scope === 'public'
      ? [...sharedErrors.rateLimitPublic, ...sharedErrors.internal]
      : [...sharedErrors.authentication, ...sharedErrors.rateLimit, ...sharedErrors.internal]
  if (operation.scope !== null && operation.scope !== 'public') all.push(...sharedErrors.scope)
  if (operation.params !== undefined || operation.query !== undefined || operation.body !== undefined)
    all.push(...sharedErrors.validation)
  if (operation.body !== undefined) all.push(...sharedErrors.body)
  if (operation.idempotency === 'required') all.push(...sharedErrors.idempotencyRequired)
  if (operation.idempotency !== 'none') all.push(...sharedErrors.idempotency)
  all.push(...operation.errors)
  const unique = new Map(all.map((spec) => [`${spec.status} ${spec.code}`, spec]))
  return [...unique.values()].sort((a, b) => a.status - b.status || a.code.localeCompare(b.code))
}
