import type { z } from 'zod'
import { type ErrorBody, errorBodySchema } from './api/common.ts'
import { type ApiContract, apiContract } from './api/contract.ts'
import type { AnyOperation } from './api/operation.ts'

/**
 * Typed client for the Sluice API. Methods are derived from the contract (`api/contract.ts`) by the type
 * system, so a new operation is a new method without code generation. Responses are parsed with the
 * contract's schemas; error responses throw SluiceApiError.
 */

type FetchFunction = (input: string, init: RequestInit) => Promise<Response>

export type SluiceClientOptions = Readonly<{
  /** e.g. "https://pay.example.com" (no trailing /v1). */
  baseUrl: string
  apiKey: string
  /** Defaults to the global fetch; tests and proxies pass their own. */
  fetch?: FetchFunction
}>

/** An error response from the API, with its stable `code`. */
export class SluiceApiError extends Error {
  override readonly name = 'SluiceApiError'
  readonly status: number
  readonly code: string
  readonly errors: readonly { path: string; message: string }[]
  readonly requestId: string | undefined
  /** The Idempotency-Key sent (given or generated): retry with it to avoid doing the work twice. */
  readonly idempotencyKey: string | undefined
  /** From Retry-After on 429 (and any other response that sets it). */
  readonly retryAfterSeconds: number | undefined

  constructor(
    status: number,
    body: ErrorBody,
    context: {
      requestId?: string | undefined
      idempotencyKey?: string | undefined
      retryAfter?: string | null
    },
  ) {
    super(body.message)
    this.status = status
    this.code = body.code
    this.errors = body.errors ?? []
    this.requestId = context.requestId
    this.idempotencyKey = context.idempotencyKey
    const seconds = context.retryAfter == null ? undefined : Number.parseInt(context.retryAfter, 10)
    this.retryAfterSeconds = seconds === undefined || Number.isNaN(seconds) ? undefined : seconds
  }
}

/** The request did not get an API answer (network failure) or the answer broke the contract. */
export class SluiceClientError extends Error {
  override readonly name = 'SluiceClientError'
  readonly idempotencyKey: string | undefined

  constructor(message: string, idempotencyKey: string | undefined, cause: unknown) {
    super(message, { cause })
    this.idempotencyKey = idempotencyKey
  }
}

type Empty = { readonly [key in never]: never }

/** `{ [name]: input }`, optional when every field of the input is optional. */
type Part<Schema, Name extends string> = Schema extends z.ZodType
  ? Empty extends z.input<Schema>
    ? { readonly [key in Name]?: z.input<Schema> }
    : { readonly [key in Name]: z.input<Schema> }
  : Empty

/** Flattens an intersection into one object type (readable in editors, comparable in type tests). */
type Flatten<T> = { [key in keyof T]: T[key] }

export type OperationInput<Op extends AnyOperation> = Flatten<
  Part<Op['params'], 'params'> &
    Part<Op['query'], 'query'> &
    Part<Op['body'], 'body'> &
    (Op['idempotency'] extends 'none'
      ? Empty
      : {
          /** Omit to have one generated (crypto.randomUUID); errors carry it so a retry can reuse it. */
          readonly idempotencyKey?: string
        })
>

export type OperationOutput<Op extends AnyOperation> = z.output<Op['response']>

/** The response with what the headers say about it. */
export type ApiResponse<Data> = Readonly<{
  data: Data
  status: number
  requestId: string | undefined
  /** True when the server answered from its idempotency record (header Idempotent-Replayed). */
  replayed: boolean
  idempotencyKey: string | undefined
}>

type Method<Op extends AnyOperation> =
  Empty extends OperationInput<Op>
    ? (input?: OperationInput<Op>) => Promise<OperationOutput<Op>>
    : (input: OperationInput<Op>) => Promise<OperationOutput<Op>>

export type SluiceClient = { readonly [Id in keyof ApiContract]: Method<ApiContract[Id]> } & {
  /** Calls an operation and returns the response with its metadata (status, request id, replayed). */
  send<Op extends AnyOperation>(
    operation: Op,
    input?: OperationInput<Op>,
  ): Promise<ApiResponse<OperationOutput<Op>>>
}

type LooseInput = {
  params?: Record<string, unknown>
  query?: Record<string, unknown>
  body?: unknown
  idempotencyKey?: string
}

function buildUrl(baseUrl: string, operation: AnyOperation, input: LooseInput): string {
  const path = operation.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment
      const value = input.params?.[segment.slice(1)]
      if (value === undefined)
        throw new TypeError(`${operation.operationId}: missing path parameter ${segment}`)
      return encodeURIComponent(String(value))
    })
    .join('/')
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(input.query ?? {})) {
    if (value !== undefined) search.set(name, String(value))
  }
  const query = search.toString()
  return `${baseUrl.replace(/\/+$/, '')}${path}${query === '' ? '' : `?${query}`}`
}

function idempotencyKeyFor(operation: AnyOperation, input: LooseInput): string | undefined {
  if (operation.idempotency === 'none') return undefined
  return input.idempotencyKey ?? globalThis.crypto.randomUUID()
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text()
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function errorFromResponse(response: Response, json: unknown, idempotencyKey: string | undefined) {
  const parsed = errorBodySchema.safeParse(json)
  // A proxy or load balancer may answer with HTML; keep the status and say so.
  const body: ErrorBody = parsed.success
    ? parsed.data
    : { code: `http-${response.status}`, message: response.statusText || `HTTP ${response.status}` }
  return new SluiceApiError(response.status, body, {
    requestId: response.headers.get('x-request-id') ?? undefined,
    idempotencyKey,
    retryAfter: response.headers.get('retry-after'),
  })
}

async function sendRequest(
  options: SluiceClientOptions,
  operation: AnyOperation,
  input: LooseInput,
): Promise<ApiResponse<unknown>> {
  const idempotencyKey = idempotencyKeyFor(operation, input)
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.apiKey}`,
    accept: 'application/json',
  }
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
  const init: RequestInit = { method: operation.method, headers }
  if (operation.body !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(input.body ?? {})
  }
  const fetchFunction = options.fetch ?? globalThis.fetch
  let response: Response
  try {
    response = await fetchFunction(buildUrl(options.baseUrl, operation, input), init)
  } catch (error) {
    throw new SluiceClientError(`${operation.operationId}: request failed`, idempotencyKey, error)
  }
  const json = await readJson(response)
  if (!response.ok) throw errorFromResponse(response, json, idempotencyKey)
  const data = operation.response.safeParse(json)
  if (!data.success)
    throw new SluiceClientError(
      `${operation.operationId}: response breaks the contract`,
      idempotencyKey,
      data.error,
    )
  return {
    data: data.data,
    status: response.status,
    requestId: response.headers.get('x-request-id') ?? undefined,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    idempotencyKey,
  }
}

export function createSluiceClient(options: SluiceClientOptions): SluiceClient {
  const send = (operation: AnyOperation, input?: unknown) =>
    sendRequest(options, operation, (input ?? {}) as LooseInput)
  const methods = Object.fromEntries(
    Object.entries(apiContract).map(([name, operation]) => [
      name,
      async (input?: unknown) => (await send(operation, input)).data,
    ]),
  )
  return { ...methods, send } as unknown as SluiceClient
}
