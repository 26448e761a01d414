import { randomBytes } from 'node:crypto'
import { apiOperations } from '@sluice/sdk/api/contract'
import {
  dashboardOperations,
  signInDashboard,
  signInWithPasskey,
  signOutDashboard,
  startPasskeySignIn,
} from '@sluice/sdk/api/dashboard'
import type { AnyOperation } from '@sluice/sdk/api/operation'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { getAddress } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { offlineNetwork } from '../../test/setup/offline-network.ts'
import { importTestSanctionsList } from '../../test/setup/sanctions.ts'
import { creditStoreBalance } from '../../test/setup/store-funding.ts'
import { limits } from '../config/limits.ts'
import type { Pool } from '../db/pool.ts'
import { createLogger } from '../lib/logger.ts'
import { createRawMasterKeyProvider } from '../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../modules/keys/key.service.ts'
import { createMerchant, issueApiKey } from '../modules/merchants/merchant.service.ts'
import { refillDepositAddressPool } from '../modules/payments/deposit-address.service.ts'
import { enrolApprover } from '../modules/payouts/payout.service.ts'
import { totpAt } from '../modules/payouts/payout.totp.ts'
import { setDashboardCredential } from '../modules/sessions/session.service.ts'
import { buildApp } from './app.ts'
import { createMetrics } from './metrics.ts'

// The quality bar (README.md): bad input gets a typed 4xx with a stable kebab-case code and the
// offending path — never a 500, never a half-written record. This file checks it for every operation of
// the API contract and of the dashboard: for each one it sends a few thousand deterministic bad inputs
// (wrong types, odd amounts, unknown and missing fields, broken bodies and headers, hostile path
// parameters) and judges each answer against the contract's own schemas, which say whether the input
// was valid and, when not, which paths the 422 must name. Not covered: routes outside both contracts
// (the hosted pages, the SSE streams, the checkout's QR image, health), which take no JSON input.

const networkName = 'testnet'
const network = offlineNetwork({
  name: networkName,
  tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
})
const kebabCase = /^[a-z0-9]+(-[a-z0-9]+)*$/
const dashboardPassword = 'a long dashboard passphrase for bad input'

// ---------------------------------------------------------------------------------------------------
// Deterministic randomness: the same seed sends the same requests on every run.

/** mulberry32: a tiny seeded PRNG (32-bit state), good enough to vary test inputs. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const seed = 0x5_1ce
const random = seededRandom(seed)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
const ulid = () => Array.from({ length: 26 }, () => pick([...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'])).join('')
const idempotencyKey = () => `bad-input-${Math.floor(random() * 2 ** 48).toString(36)}`

/** Code points from scripts, combining marks, zero-width and bidi controls, and emoji (astral). */
function randomUnicode(length: number): string {
  const ranges = [
    [0xa1, 0x24f],
    [0x300, 0x36f],
    [0x400, 0x4ff],
    [0x600, 0x6ff],
    [0x200b, 0x202e],
    [0x4e00, 0x4fff],
    [0x1f300, 0x1f64f],
  ] as const
  return Array.from({ length }, () => {
    const [low, high] = pick(ranges)
    return String.fromCodePoint(low + Math.floor(random() * (high - low + 1)))
  }).join('')
}

// ---------------------------------------------------------------------------------------------------
// What to send: a table of bad values, put in place of one field at a time.

const overlong = 'x'.repeat(100_000)
/**
 * Stands for 100,000 nested arrays (far past what a recursive walk survives; 200 kB, within the body
 * limit) in a value. Written into the JSON text, since JSON.stringify cannot write it.
 */
const deep = '\u{e000}deeply nested\u{e000}'
const deepJson = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
const jsonText = (value: unknown) => JSON.stringify(value ?? {}).replaceAll(JSON.stringify(deep), deepJson)

/** Bad values for any JSON field: wrong types, empty and huge strings, amounts that are not decimals. */
const valueMutations: readonly (readonly [string, unknown])[] = [
  ['a number', 12_345],
  ['a string', 'text'],
  ['an object', {}],
  ['an array', []],
  ['null', null],
  ['a boolean', true],
  ['an empty string', ''],
  ['a 100 kB string', overlong],
  ['"1.5e3"', '1.5e3'],
  ['"-1"', '-1'],
  ['"0x10"', '0x10'],
  ['" 1"', ' 1'],
  ['"1."', '1.'],
  ['Arabic-Indic digits', '١٢'],
  ['2^256 as a string', (2n ** 256n).toString()],
  ['2^256 as a number', 2 ** 256],
  ['"NaN"', 'NaN'],
  ['-1', -1],
  ['1.5', 1.5],
  ['2^53 + 2', 2 ** 53 + 2],
  ['a NUL character', 'a\u0000b'],
  ['a lone surrogate', 'a\ud800b'],
  ['random unicode', randomUnicode(12)],
  ['an object with a NUL in a key', { 'a\u0000b': 'x' }],
  // An object, so that fields taking any JSON (a record of unknown values) accept it and pass it on.
  ['an object holding 100,000 nested arrays', { a: deep }],
]

/** Query values travel as text, so only strings; the parser sees exactly these. */
const queryMutations: readonly (readonly [string, string])[] = [
  ['an empty value', ''],
  ['a 100 kB value', overlong],
  ['"1.5e3"', '1.5e3'],
  ['"-1"', '-1'],
  ['"0x10"', '0x10'],
  ['" 1"', ' 1'],
  ['"1."', '1.'],
  ['Arabic-Indic digits', '١٢'],
  ['2^256', (2n ** 256n).toString()],
  ['"NaN"', 'NaN'],
  ['"null"', 'null'],
  ['"true"', 'true'],
  ['a NUL character', 'a\u0000b'],
  ['random unicode', randomUnicode(8)],
]

/** Path parameter values, percent-encoded into the URL. */
const paramMutations: readonly (readonly [string, string])[] = [
  ['an empty segment', ''],
  ['300 characters', 'x'.repeat(300)],
  ['100 kB', overlong],
  ['a NUL character', 'a\u0000b'],
  ['"."', '.'],
  ['"1.5e3"', '1.5e3'],
  ['Arabic-Indic digits', '١٢'],
  ['unicode', randomUnicode(6)],
  ['a slash', 'a/b'],
]

/** Path parameter segments written into the URL as they are: the router decodes (or refuses) them. */
const rawParamSegments: readonly string[] = ['%00', '..', '%2e%2e', '%E0%A4%A', '%', 'a%2Fb', '%F0%9F%99%82']

// ---------------------------------------------------------------------------------------------------
// Valid inputs to start from, sampled from the contract's JSON Schema (the one OpenAPI shows).

type JsonSchema = {
  type?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  $ref?: string
  $defs?: Record<string, JsonSchema>
  const?: unknown
  enum?: unknown[]
  pattern?: string
  format?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  minItems?: number
}

const jsonSchemaOf = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema

/** Strings tried against a pattern, in order; a pattern none matches fails the test (add one here). */
const stringCandidates = ['1', 'USDT', '123456', 'rule-1', `USDT@${networkName}`, 'A'.repeat(43)]

function sampleString(schema: JsonSchema, knownIds: ReadonlyMap<string, string>): string {
  if (schema.format === 'uri') return 'https://shop.example/back'
  if (schema.format === 'date-time') return '2099-01-01T00:00:00Z'
  const prefixed = /^\^([a-z]+)_\[0-9A-HJKMNP-TV-Z\]\{26\}\$$/.exec(schema.pattern ?? '')?.[1]
  if (prefixed !== undefined) return knownIds.get(prefixed) ?? `${prefixed}_${ulid()}`
  const fits = (text: string) =>
    text.length >= (schema.minLength ?? 0) &&
    text.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY) &&
    (schema.pattern === undefined || new RegExp(schema.pattern).test(text))
  const found = ['x'.repeat(Math.max(1, schema.minLength ?? 1)), ...stringCandidates].find(fits)
  if (found === undefined) throw new Error(`no sample string for ${JSON.stringify(schema)}`)
  return found
}

/** The smallest value the schema accepts: required properties only, one item where one is needed. */
function sampleOf(schema: JsonSchema, root: JsonSchema, knownIds: ReadonlyMap<string, string>): unknown {
  const sample = (inner: JsonSchema) => sampleOf(inner, root, knownIds)
  if (schema.$ref !== undefined) return sample(root.$defs?.[schema.$ref.replace('#/$defs/', '')] ?? {})
  if ('const' in schema) return schema.const
  if (schema.enum !== undefined) return schema.enum[0]
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0]
  if (branch !== undefined) return sample(branch)
  if (schema.type === 'object')
    return Object.fromEntries(
      (schema.required ?? []).map((name) => [name, sample(schema.properties?.[name] ?? {})]),
    )
  if (schema.type === 'array') return (schema.minItems ?? 0) > 0 && schema.items ? [sample(schema.items)] : []
  if (schema.type === 'integer' || schema.type === 'number') return Math.max(1, schema.minimum ?? 1)
  if (schema.type === 'boolean') return false
  if (schema.type === 'string') return sampleString(schema, knownIds)
  return null
}

type Input = { params: Record<string, string>; query: Record<string, string | string[]>; body: unknown }

function sampleInput(
  operation: AnyOperation,
  knownIds: ReadonlyMap<string, string>,
  override: Partial<Input> = {},
): Input {
  const sampled = (schema: z.ZodType | undefined) => {
    if (schema === undefined) return undefined
    const json = jsonSchemaOf(schema)
    return sampleOf(json, json, knownIds)
  }
  const params = { ...(sampled(operation.params) as Record<string, string> | undefined), ...override.params }
  const body = sampled(operation.body)
  return {
    params,
    query: {},
    body: override.body !== undefined && isRecord(body) ? { ...body, ...(override.body as object) } : body,
  }
}

// ---------------------------------------------------------------------------------------------------
// The oracle: the contract's schemas say whether an input is valid, and which paths a 422 must name.

type PathPart = string | number

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

/** `body.items[0].amount`, as the server writes paths. */
const formatPath = (prefix: string, path: readonly PropertyKey[]) =>
  path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : `${text}.${String(part)}`),
    prefix,
  )

/**
 * The paths a correct 422 names: each issue's. An unknown field is named by the object holding it, its
 * name in the message: that is zod's convention, and the server's (api.int.test.ts and
 * webhooks.int.test.ts assert it).
 */
function offendingPaths(schema: z.ZodType | undefined, value: unknown, prefix: string): string[] {
  if (schema === undefined) return []
  const result = schema.safeParse(value)
  if (result.success) return []
  // An unknown field is named by its own path, not its parent's.
  return result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => formatPath(prefix, [...issue.path, key]))
      : [formatPath(prefix, issue.path)],
  )
}

type Expectation =
  /** The pipeline refuses before validation (body parser, Idempotency-Key, authentication). */
  | { kind: 'refused'; status: number; code?: string }
  /** The contract refuses the input: 422 validation-failed naming every path. */
  | { kind: 'invalid'; paths: string[] }
  /** The contract accepts it: any typed answer (a business 4xx, or success). */
  | { kind: 'valid' }

function judge(operation: AnyOperation, seen: Input): Expectation {
  const paths = [
    ...offendingPaths(operation.params, seen.params, 'params'),
    ...offendingPaths(operation.query, seen.query, 'query'),
    ...offendingPaths(operation.body, seen.body, 'body'),
  ]
  return paths.length === 0 ? { kind: 'valid' } : { kind: 'invalid', paths }
}

// ---------------------------------------------------------------------------------------------------
// Cases: one request each, with what the answer must be.

type Target = Readonly<{
  operation: AnyOperation
  /** Credentials of a caller allowed to call it; empty for public operations. */
  headers: Record<string, string>
  /** Whether a request without them must be refused with 401. */
  authenticated: boolean
  base: Input
}>

type Case = Readonly<{
  operationId: string
  label: string
  method: AnyOperation['method']
  url: string
  headers: Record<string, string>
  payload: string | undefined
  expectation: Expectation
  /** A hostile path segment: the router may refuse it (400/404/414) before the operation sees it. */
  routing: boolean
}>

const noBody = Symbol('no body')
type Payload = { text: string; contentType: string } | typeof noBody

function urlOf(operation: AnyOperation, params: Record<string, string>, query: string, raw = false): string {
  const path = operation.path.replace(/:([a-z_]+)/g, (_match, name: string) =>
    raw ? (params[name] ?? '') : encodeURIComponent(params[name] ?? ''),
  )
  return query === '' ? path : `${path}?${query}`
}

function makeCase(
  target: Target,
  label: string,
  request: { input?: Partial<Input>; payload?: Payload; headers?: Record<string, string | undefined> },
  expectation?: Expectation,
  rawPath = false,
): Case {
  const { operation } = target
  const given: Input = { ...target.base, ...request.input }
  const bodyText = jsonText(given.body)
  // What the server parses: the body as it travels, deep arrays included.
  const seen = bodyText.includes(deepJson) ? { ...given, body: JSON.parse(bodyText) } : given
  const query = new URLSearchParams(
    Object.entries(seen.query).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((item): [string, string] => [name, item]),
    ),
  )
  const payload =
    request.payload ??
    (operation.body === undefined && operation.method !== 'POST'
      ? noBody
      : { text: bodyText, contentType: 'application/json' })
  const idempotency = operation.idempotency === 'none' ? {} : { 'idempotency-key': idempotencyKey() }
  const headers = Object.fromEntries(
    Object.entries({
      ...target.headers,
      ...idempotency,
      ...(payload === noBody ? {} : { 'content-type': payload.contentType }),
      ...request.headers,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  )
  return {
    operationId: operation.operationId,
    label,
    method: operation.method,
    url: urlOf(operation, seen.params, query.toString().replaceAll('+', '%20'), rawPath),
    headers,
    payload: payload === noBody ? undefined : payload.text,
    expectation: expectation ?? judge(operation, seen),
    routing: rawPath || request.input?.params !== undefined,
  }
}

/** Where a mutation can go: every value of the base body (first items of arrays), and optional fields. */
function fieldPaths(target: Target): PathPart[][] {
  const walk = (value: unknown, at: PathPart[]): PathPart[][] => {
    if (Array.isArray(value)) return value.length === 0 ? [] : [[...at, 0], ...walk(value[0], [...at, 0])]
    if (!isRecord(value)) return []
    return Object.entries(value).flatMap(([key, item]) => [[...at, key], ...walk(item, [...at, key])])
  }
  const present = walk(target.base.body, [])
  const schema = target.operation.body === undefined ? {} : jsonSchemaOf(target.operation.body)
  const optional = Object.keys(schema.properties ?? {})
    .filter((name) => !isRecord(target.base.body) || !(name in target.base.body))
    .map((name) => [name])
  return [...present, ...optional]
}

function withChange(
  value: unknown,
  path: readonly PathPart[],
  change: (parent: Record<PathPart, unknown>, key: PathPart) => void,
) {
  const copy = structuredClone(value) as Record<PathPart, unknown>
  let parent = copy
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<PathPart, unknown>
  change(parent, path.at(-1) as PathPart)
  return copy
}

function bodyCases(target: Target): Case[] {
  if (target.operation.body === undefined) return []
  const { body } = target.base
  const cases: Case[] = []
  for (const path of fieldPaths(target)) {
    const at = formatPath('body', path)
    for (const [label, value] of valueMutations) {
      const mutated = withChange(body, path, (parent, key) => {
        parent[key] = value
      })
      cases.push(makeCase(target, `${at} = ${label}`, { input: { body: mutated } }))
    }
    if (typeof path.at(-1) === 'string')
      cases.push(
        makeCase(target, `${at} missing`, {
          input: { body: withChange(body, path, (parent, key) => delete parent[key]) },
        }),
      )
  }
  // An unknown field next to every object's fields, the body's own included.
  for (const path of [[], ...fieldPaths(target)]) {
    const parent = path.reduce<unknown>((value, part) => (value as Record<PathPart, unknown>)?.[part], body)
    if (!isRecord(parent)) continue
    const mutated = withChange(body, [...path, 'unexpected_field'], (object, key) => {
      object[key] = 1
    })
    cases.push(
      makeCase(target, `${formatPath('body', path)} with an unknown field`, { input: { body: mutated } }),
    )
  }
  return cases
}

function queryCases(target: Target): Case[] {
  const { query } = target.operation
  if (query === undefined) return []
  const names = Object.keys(jsonSchemaOf(query).properties ?? {})
  return [
    ...names.flatMap((name) =>
      queryMutations.map(([label, value]) =>
        makeCase(target, `query ${name} = ${label}`, { input: { query: { [name]: value } } }),
      ),
    ),
    ...names.map((name) =>
      makeCase(target, `query ${name} twice`, { input: { query: { [name]: ['1', '2'] } } }),
    ),
    makeCase(target, 'an unknown query parameter', { input: { query: { unexpected: '1' } } }),
  ]
}

function paramCases(target: Target): Case[] {
  const { base } = target
  return Object.keys(base.params).flatMap((name) => [
    ...paramMutations.map(([label, value]) =>
      makeCase(target, `params ${name} = ${label}`, { input: { params: { ...base.params, [name]: value } } }),
    ),
    ...rawParamSegments.map((segment) => {
      const decoded = safeDecode(segment)
      return makeCase(
        target,
        `params ${name} = raw ${segment}`,
        { input: { params: { ...base.params, [name]: segment } } },
        decoded === undefined
          ? undefined
          : judge(target.operation, { ...base, params: { ...base.params, [name]: decoded } }),
        true,
      )
    }),
  ])
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** Bodies that are not the JSON object the operation wants, whatever its schema. */
function payloadCases(target: Target): Case[] {
  if (target.operation.method === 'GET') return []
  const json = (text: string): Payload => ({ text, contentType: 'application/json' })
  const parsed = (label: string, text: string) =>
    makeCase(target, label, { input: { body: JSON.parse(text) }, payload: json(text) })
  const invalidJson = { kind: 'refused', status: 400, code: 'invalid-json' } as const
  return [
    makeCase(target, 'no body', { input: { body: undefined }, payload: noBody }),
    makeCase(target, 'invalid JSON', { payload: json('{"') }, invalidJson),
    makeCase(target, 'an empty JSON body', { payload: json('') }, invalidJson),
    makeCase(target, 'a NaN literal', { payload: json('{"amount": NaN}') }, invalidJson),
    makeCase(target, 'a trailing comma', { payload: json('{"a": 1,}') }, invalidJson),
    makeCase(target, 'a __proto__ key', { payload: json('{"__proto__": {"admin": true}}') }, invalidJson),
    parsed('a JSON array', '[]'),
    parsed('a JSON number', '42'),
    parsed('a JSON string', '"text"'),
    parsed('JSON null', 'null'),
    parsed('JSON true', 'true'),
    makeCase(target, 'a body holding 100,000 nested arrays', {
      input: { body: { a: deep } },
      payload: json(jsonText({ a: deep })),
    }),
    makeCase(target, 'text/plain', {
      input: { body: 'hello' },
      payload: { text: 'hello', contentType: 'text/plain' },
    }),
    makeCase(
      target,
      'a form body',
      { payload: { text: 'a=1', contentType: 'application/x-www-form-urlencoded' } },
      { kind: 'refused', status: 415, code: 'unsupported-media-type' },
    ),
    makeCase(
      target,
      'a body over the size limit',
      { payload: json(JSON.stringify({ pad: 'x'.repeat(limits.requestBodyBytesMax) })) },
      { kind: 'refused', status: 413, code: 'request-body-too-large' },
    ),
  ]
}

function headerCases(target: Target): Case[] {
  const { operation } = target
  const cases: Case[] = []
  if (operation.idempotency === 'required')
    cases.push(
      makeCase(
        target,
        'no Idempotency-Key',
        { headers: { 'idempotency-key': undefined } },
        { kind: 'refused', status: 400, code: 'idempotency-key-required' },
      ),
    )
  if (operation.idempotency !== 'none')
    for (const key of ['with space', 'k'.repeat(256), 'ключ', ''])
      cases.push(
        makeCase(
          target,
          `Idempotency-Key "${key.slice(0, 12)}" (${key.length} characters)`,
          { headers: { 'idempotency-key': key } },
          { kind: 'refused', status: 400, code: 'idempotency-key-invalid' },
        ),
      )
  if (target.authenticated) {
    const without = Object.fromEntries(Object.keys(target.headers).map((name) => [name, undefined]))
    for (const [label, authorization] of [
      ['no credentials', undefined],
      ['a malformed API key', 'Bearer sk_not-a-key'],
      ['a 100 kB API key', `Bearer ${overlong}`],
      ['Basic authentication', 'Basic dXNlcjpwYXNz'],
    ] as const)
      cases.push(
        makeCase(target, label, { headers: { ...without, authorization } }, { kind: 'refused', status: 401 }),
      )
  }
  return cases
}

const casesOf = (target: Target): Case[] => [
  ...bodyCases(target),
  ...queryCases(target),
  ...paramCases(target),
  ...payloadCases(target),
  ...headerCases(target),
]

// ---------------------------------------------------------------------------------------------------
// Judging an answer.

/** Tables an operation creates rows in; a refused request must leave their counts alone. */
const recordTables = [
  'invoices',
  'invoice_payment_options',
  'invoice_marks',
  'deposit_addresses',
  'customers',
  'payment_links',
  'refunds',
  'payouts',
  'payout_batches',
  'payout_approvals',
  'payout_approvers',
  'payout_policies',
  'payout_address_book',
  'payout_panic',
  'webhook_endpoints',
  'webhook_deliveries',
  'api_keys',
  'ledger_transfers',
  'dashboard_passkeys',
  // A refusal before the claim stores nothing; a business refusal is stored under its key (on purpose).
  'idempotency_keys',
] as const

type Counts = Record<(typeof recordTables)[number], number>

async function countRecords(pool: Pool): Promise<Counts> {
  const selects = recordTables.map((table) => `(select count(*)::int from ${table}) as ${table}`)
  const result = await pool.query<Counts>(`select ${selects.join(', ')}`)
  return result.rows[0] as Counts
}

type Answer = { status: number; body: string; written: string[] }

/** Everything wrong with one answer; empty when it meets the bar. */
function problemsOf(expectation: Expectation, routing: boolean, answer: Answer): string[] {
  const problems: string[] = []
  let body: { code?: unknown; errors?: { path?: unknown }[] } | undefined
  try {
    body = JSON.parse(answer.body)
  } catch {
    body = undefined
  }
  const code = typeof body?.code === 'string' ? body.code : undefined
  if (answer.status >= 500) problems.push('a 5xx')
  if (answer.status >= 400 && (code === undefined || !kebabCase.test(code)))
    problems.push('no kebab-case code in a JSON body')
  // A hostile path segment may be refused by the router (bad percent-encoding, too long, no route) before
  // the operation sees it; any other answer must be the operation's.
  const routed = routing && ['route-not-found', 'bad-request'].includes(code ?? '') && answer.status < 500
  if (expectation.kind === 'refused' && !routed) {
    if (answer.status !== expectation.status || (expectation.code !== undefined && code !== expectation.code))
      problems.push(`expected ${expectation.status} ${expectation.code ?? ''}`.trim())
  }
  if (expectation.kind === 'invalid' && !routed) {
    const named = new Set((body?.errors ?? []).map((detail) => detail.path))
    if (answer.status !== 422 || code !== 'validation-failed') problems.push('expected 422 validation-failed')
    else {
      const missing = expectation.paths.filter((path) => !named.has(path))
      if (missing.length > 0) problems.push(`errors do not name ${missing.join(', ')}`)
    }
  }
  // Whatever the oracle expected, a validation failure names where: every path is in one input part.
  const paths = (body?.errors ?? []).map((detail) => detail.path)
  if (
    code === 'validation-failed' &&
    (paths.length === 0 ||
      !paths.every((path) => typeof path === 'string' && /^(body|query|params)\b/.test(path)))
  )
    problems.push('a validation failure without paths')
  const pipelineRefusal = expectation.kind !== 'valid'
  const written = answer.written.filter((table) => pipelineRefusal || table !== 'idempotency_keys')
  if (answer.status >= 400 && written.length > 0) problems.push(`a refusal wrote to ${written.join(', ')}`)
  return problems
}

// ---------------------------------------------------------------------------------------------------
// The gateway under test, with one of every resource the operations name.

let database: TestDatabase
let app: FastifyInstance
let merchantId = ''
let apiKey = ''
let sessionCookie = ''
let requestCount = 0
const knownIds = new Map<string, string>()
const spareIds = { webhook: '', payoutAddress: '', payout: '', link: '' }
let payoutRevision = 0

/** A fresh EIP-55 address, from the seeded PRNG like everything else. */
const newDestination = () =>
  getAddress(
    privateKeyToAddress(`0x${Array.from({ length: 64 }, () => pick([...'0123456789abcdef'])).join('')}`),
  )

/** A request every setup step expects to succeed; answers its JSON. */
async function setupCall(method: 'POST', url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': idempotencyKey() },
    payload: body as object,
  })
  if (response.statusCode >= 300)
    throw new Error(`setup ${method} ${url}: ${response.statusCode} ${response.body}`)
  return response.json()
}

async function fund(pool: Pool, amount: bigint): Promise<void> {
  await creditStoreBalance(pool, merchantId, `USDT@${networkName}`, amount)
}

async function signInToDashboard(pool: Pool): Promise<void> {
  const enrolled = await enrolApprover(pool, { merchantId, name: 'Operator', roles: ['admin'] })
  await setDashboardCredential(pool, {
    merchantId,
    approverId: enrolled.approver.id,
    login: 'operator',
    password: dashboardPassword,
  })
  knownIds.set('sec', enrolled.approver.id)
  const signedIn = await app.inject({
    method: 'POST',
    url: signInDashboard.path,
    payload: {
      login: 'operator',
      password: dashboardPassword,
      totp_code: totpAt(enrolled.totpSecret, BigInt(Date.now()) / 1000n),
    },
  })
  if (signedIn.statusCode !== 200) throw new Error(`sign-in: ${signedIn.body}`)
  sessionCookie = String(signedIn.headers['set-cookie']).split(';')[0] ?? ''
}

/** One of each resource an operation's path can name, so valid-looking inputs reach the handlers. */
async function createResources(pool: Pool): Promise<void> {
  const invoice = await setupCall('POST', '/v1/invoices', { amount: '10', currency: 'USDT' })
  const customer = await setupCall('POST', '/v1/customers', { external_id: 'bad-input-customer' })
  const link = await setupCall('POST', '/v1/payment-links', { currency: 'USDT', amount: '5', one_time: true })
  const spareLink = await setupCall('POST', '/v1/payment-links', { currency: 'USDT' })
  const hook = { url: 'https://93.184.216.34/hooks', event_filter: '*' }
  const webhooks = [
    await setupCall('POST', '/v1/webhooks', hook),
    await setupCall('POST', '/v1/webhooks', hook),
  ]
  const entry = () =>
    setupCall('POST', '/v1/payout-addresses', { address: newDestination(), network: networkName })
  const entries = [await entry(), await entry()]
  const payout = () =>
    setupCall('POST', '/v1/payouts', {
      network: networkName,
      asset: 'USDT',
      destination: newDestination(),
      amount: '1',
    })
  const payouts = [await payout(), await payout()]
  const spareKey = await issueApiKey(pool, { merchantId, label: 'spare', scopes: ['invoices:read'] })
  for (const [prefix, record] of [
    ['inv', invoice],
    ['cus', customer],
    ['lnk', link],
    ['whk', webhooks[0]],
    ['pab', entries[0]],
    ['po', payouts[0]],
  ] as const)
    knownIds.set(prefix, String(record?.id))
  knownIds.set('key', spareKey.apiKeyId)
  payoutRevision = Number(payouts[0]?.revision)
  Object.assign(spareIds, {
    webhook: webhooks[1]?.id,
    payoutAddress: entries[1]?.id,
    payout: payouts[1]?.id,
    link: spareLink.id,
  })
}

/** Inputs that reach deeper than a sample would: real networks, assets, destinations and resources. */
function overrides(): Record<string, Partial<Input>> {
  const payoutItem = { network: networkName, asset: 'USDT', destination: newDestination(), amount: '1' }
  const rule = {
    id: 'rule-1',
    match: {
      networks: [networkName],
      amount: { min: '1', max: '10' },
      window: { seconds: 60, group_by: 'store' },
    },
    action: { kind: 'require_approval', approvals: 1, role: 'approver' },
  }
  return {
    // A literal IP: the SSRF check resolves host names, and the tests must not depend on DNS.
    createWebhookEndpoint: { body: { url: 'https://93.184.216.34/hooks' } },
    // The contract wants at least one field to change.
    updateWebhookEndpoint: { body: { description: 'bad input' } },
    deleteWebhookEndpoint: { params: { id: spareIds.webhook } },
    deletePayoutAddress: { params: { id: spareIds.payoutAddress } },
    deactivatePaymentLink: { params: { id: spareIds.link } },
    cancelPayout: { params: { id: spareIds.payout } },
    // The payout's revision, so that decisions get as far as the approver's one-time code.
    approvePayout: { body: { revision: payoutRevision } },
    rejectPayout: { body: { revision: payoutRevision } },
    createPayout: { body: payoutItem },
    createPayoutBatch: { body: { items: [payoutItem] } },
    createPayoutAddress: { body: { address: newDestination(), network: networkName } },
    proposePayoutPolicy: { body: { policy: { rules: [rule], default_action: { kind: 'allow' } } } },
    signInDashboard: { body: { login: 'operator', password: 'not the password', totp_code: '000000' } },
  }
}

function targets(): Target[] {
  const keyHeaders = { authorization: `Bearer ${apiKey}` }
  const sessionHeaders = { cookie: sessionCookie, 'x-sluice-client': 'dashboard' }
  const extra = overrides()
  const target = (
    operation: AnyOperation,
    headers: Record<string, string>,
    authenticated: boolean,
  ): Target => ({
    operation,
    headers,
    authenticated,
    base: sampleInput(operation, knownIds, extra[operation.operationId]),
  })
  return [
    ...apiOperations.map((operation) =>
      operation.scope === 'public' ? target(operation, {}, false) : target(operation, keyHeaders, true),
    ),
    ...dashboardOperations.map((operation) => target(operation, sessionHeaders, true)),
    ...[signInDashboard, startPasskeySignIn, signInWithPasskey].map((operation) =>
      target(operation, {}, false),
    ),
    // Last: its valid requests end the session the dashboard cases use. Signing out without a session
    // is not an error (the contract says so), so it has no authentication cases.
    target(signOutDashboard, sessionHeaders, false),
  ]
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { pool } = database
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(pool, provider)
  const store = await createMerchant(pool, { name: 'Bad Input Store' })
  merchantId = store.merchant.id
  apiKey = store.apiKey.key
  await exportAccountXpub(pool, provider, merchantId)
  await refillDepositAddressPool(pool, merchantId)
  await importTestSanctionsList(pool)
  await fund(pool, 1_000_000_000_000n)
  const unlimited = { requestsPerSecond: 1_000_000, burst: 1_000_000, bucketsMax: 100_000 }
  app = await buildApp({
    pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [network],
    // An operator store: treasury operations refuse any other store before they read their input.
    api: {
      assertResponses: true,
      rateLimit: unlimited,
      publicRateLimit: unlimited,
      operatorStores: [merchantId],
    },
  })
  await signInToDashboard(pool)
  await createResources(pool)
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

/**
 * The counts after the previous request, when it was counted: they are this request's "before", since
 * only these requests write here (what the API does in the background touches only the address pool).
 */
let lastCounts: Counts | undefined

async function send(testCase: Case): Promise<Answer> {
  const counted = testCase.method !== 'GET'
  const before = counted ? (lastCounts ?? (await countRecords(database.pool))) : undefined
  requestCount += 1
  const response: LightMyRequestResponse = await app.inject({
    method: testCase.method,
    url: testCase.url,
    headers: testCase.headers,
    ...(testCase.payload === undefined ? {} : { payload: testCase.payload }),
    // Its own address per request: the per-address limits (public, sign-in) must not answer instead.
    remoteAddress: `10.${(requestCount >> 16) & 255}.${(requestCount >> 8) & 255}.${requestCount & 255}`,
  })
  const after = before === undefined ? undefined : await countRecords(database.pool)
  lastCounts = after
  const written = recordTables.filter((table) => before !== undefined && before[table] !== after?.[table])
  return { status: response.statusCode, body: response.body, written }
}

describe('bad input, for every operation', () => {
  it('starts from inputs the contract accepts', () => {
    const invalid = targets()
      .map((target) => ({ id: target.operation.operationId, verdict: judge(target.operation, target.base) }))
      .filter((entry) => entry.verdict.kind !== 'valid')
    expect(invalid).toEqual([])
  })

  // No retry (the project's default is one): the run changes the store (it creates, deactivates, signs
  // out), so a second run is not the same test, and a deterministic failure needs no second look.
  it('answers each with a typed 4xx naming the offending path, and writes nothing', {
    retry: 0,
  }, async () => {
    const failures: string[] = []
    let cases = 0
    const all = targets()
    for (const target of all) {
      for (const testCase of casesOf(target)) {
        cases += 1
        const answer = await send(testCase)
        const problems = problemsOf(testCase.expectation, testCase.routing, answer)
        if (problems.length > 0)
          failures.push(
            `${testCase.operationId} | ${testCase.label} | ${answer.status} ${answer.body.slice(0, 300)} | ${problems.join('; ')}`,
          )
      }
    }
    console.info(`bad input: ${cases} cases over ${all.length} operations (seed ${seed})`)
    expect(failures).toEqual([])
  })

  it('has a checker that catches a 5xx, an untyped code, a missing path and a written record', () => {
    const invalid: Expectation = { kind: 'invalid', paths: ['body.amount'] }
    const answer = (status: number, body: unknown, written: string[] = []) => ({
      status,
      body: JSON.stringify(body),
      written,
    })
    expect(problemsOf({ kind: 'valid' }, false, answer(500, { code: 'internal-error' }))).toEqual(['a 5xx'])
    expect(problemsOf({ kind: 'valid' }, false, answer(409, { code: 'Conflict' }))).toEqual([
      'no kebab-case code in a JSON body',
    ])
    expect(
      problemsOf(invalid, false, answer(422, { code: 'validation-failed', errors: [{ path: 'body' }] })),
    ).toEqual(['errors do not name body.amount'])
    expect(problemsOf(invalid, false, answer(201, {}))).toEqual(['expected 422 validation-failed'])
    expect(
      problemsOf({ kind: 'valid' }, false, answer(404, { code: 'invoice-not-found' }, ['invoices'])),
    ).toEqual(['a refusal wrote to invoices'])
  })
})
