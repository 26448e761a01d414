import { apiScopes, errorBodySchema } from '@sluice/sdk/api/common'
import {
  type AnyOperation,
  type ErrorSpec,
  operationErrors,
  pathParameterNames,
} from '@sluice/sdk/api/operation'
import { z } from 'zod'

/**
 * The OpenAPI 3.1 document, generated from the contract (sdk/src/api): nothing here is written by hand
 * per operation. Schemas come from zod (`z.toJSONSchema`, JSON Schema 2020-12, the dialect of 3.1);
 * named ones (`named()` in sdk/src/api/common.ts) land in components.schemas and are referenced.
 */

export type JsonSchema = { [keyword: string]: unknown }
export type OpenApiDocument = {
  openapi: '3.1.0'
  info: { title: string; version: string; description: string }
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> }
  paths: Record<string, Record<string, JsonSchema>>
  tags: { name: string }[]
}

const componentPrefix = '#/components/schemas/'

/** Converts one schema; named sub-schemas are moved into `components` and referenced from there. */
function toSchema(
  schema: z.ZodType,
  io: 'input' | 'output',
  components: Record<string, JsonSchema>,
): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'throw',
    // Responses may gain fields in later versions; clients must ignore unknown ones, so the document
    // does not promise `additionalProperties: false` for output. Requests stay strict.
    override: (context) => {
      if (io === 'output' && context.jsonSchema.additionalProperties === false)
        delete context.jsonSchema.additionalProperties
      // zod adds a 400-character regex for date-time; `format` says the same to people and generators.
      if (context.jsonSchema.format === 'date-time') delete context.jsonSchema.pattern
    },
  }) as JsonSchema
  const rewritten = JSON.parse(
    JSON.stringify(converted).replaceAll('"#/$defs/', `"${componentPrefix}`),
  ) as JsonSchema
  const { $schema: _dialect, $defs: definitions, ...rest } = rewritten
  for (const [name, definition] of Object.entries((definitions ?? {}) as Record<string, JsonSchema>)) {
    const previous = components[name]
    if (previous !== undefined && JSON.stringify(previous) !== JSON.stringify(definition))
      throw new Error(`schema ${name} renders differently in two places (input vs output?)`)
    components[name] = definition
  }
  return rest
}

const toPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

function parameters(operation: AnyOperation, components: Record<string, JsonSchema>): JsonSchema[] {
  const list: JsonSchema[] = []
  const parts = [
    ['path', operation.params],
    ['query', operation.query],
  ] as const
  for (const [location, schema] of parts) {
    if (schema === undefined) continue
    const object = toSchema(schema, 'output', components)
    const required = new Set((object.required ?? []) as string[])
    for (const [name, property] of Object.entries((object.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description, ...rest } = property
      list.push({
        name,
        in: location,
        required: location === 'path' || required.has(name),
        ...(description === undefined ? {} : { description }),
        schema: rest,
      })
    }
  }
  if (operation.idempotency !== 'none') list.push(idempotencyParameter(operation))
  return list
}

function idempotencyParameter(operation: AnyOperation): JsonSchema {
  return {
    name: 'Idempotency-Key',
    in: 'header',
    required: operation.idempotency === 'required',
    description:
      'Client-chosen key (a UUID is fine). A retry with the same key and body returns the first response ' +
      '(header Idempotent-Replayed: true) instead of repeating the effect. Kept for 24 hours.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_\\-:.]{1,255}$' },
  }
}

function errorResponses(operation: AnyOperation): Record<string, JsonSchema> {
  const byStatus = new Map<number, { codes: string[]; lines: string[]; specs: ErrorSpec[] }>()
  for (const spec of operationErrors(operation)) {
    const entry = byStatus.get(spec.status) ?? { codes: [], lines: [], specs: [] }
    entry.codes.push(spec.code)
    entry.specs.push(spec)
    entry.lines.push(`\`${spec.code}\`: ${spec.description}`)
    byStatus.set(spec.status, entry)
  }
  const responses: Record<string, JsonSchema> = {}
  for (const [status, entry] of byStatus) {
    const schema = {
      allOf: [
        { $ref: `${componentPrefix}Error` },
        { type: 'object', properties: { code: { type: 'string', enum: entry.codes } } },
      ],
    }
    responses[String(status)] = {
      description: entry.lines.join('\n\n'),
      'x-sluice-errors': entry.specs.map(({ code, description }) => ({ code, description })),
      ...(status === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } } } : {}),
      content: { 'application/json': { schema } },
    }
  }
  return responses
}

/** Required scopes as OpenAPI 3.1 role names on the bearer scheme; `admin` means all of them. */
function security(operation: AnyOperation): JsonSchema[] {
  const scopes =
    operation.scope === null ? [] : operation.scope === 'admin' ? [...apiScopes] : [operation.scope]
  return [{ apiKey: scopes }]
}

function operationObject(operation: AnyOperation, components: Record<string, JsonSchema>): JsonSchema {
  const success: JsonSchema = {
    description: operation.summary,
    content: { 'application/json': { schema: toSchema(operation.response, 'output', components) } },
  }
  if (operation.idempotency !== 'none')
    success.headers = { 'Idempotent-Replayed': { schema: { type: 'string', enum: ['true'] } } }
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: operation.description,
    tags: [...operation.tags],
    security: security(operation),
    parameters: parameters(operation, components),
    ...(operation.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: toSchema(operation.body, 'input', components) } },
          },
        }),
    responses: { [String(operation.successStatus)]: success, ...errorResponses(operation) },
    'x-sluice-scope': operation.scope,
    'x-sluice-money-moving': operation.moneyMoving,
    'x-sluice-idempotency': operation.idempotency,
  }
}

/** Builds the document; throws on contract mistakes (path parameters not matching `params`, duplicates). */
export function buildOpenApiDocument(operations: readonly AnyOperation[], version = '1'): OpenApiDocument {
  const components: Record<string, JsonSchema> = {}
  toSchema(errorBodySchema, 'output', components)
  const paths: OpenApiDocument['paths'] = {}
  const seen = new Set<string>()
  for (const operation of operations) {
    if (seen.has(operation.operationId)) throw new Error(`duplicate operationId ${operation.operationId}`)
    seen.add(operation.operationId)
    const object = operationObject(operation, components)
    const declared = (object.parameters as JsonSchema[]).filter((p) => p.in === 'path').map((p) => p.name)
    if (JSON.stringify(declared) !== JSON.stringify(pathParameterNames(operation.path)))
      throw new Error(
        `${operation.operationId}: path parameters of ${operation.path} do not match its params`,
      )
    const path = toPath(operation.path)
    const item = paths[path] ?? {}
    const method = operation.method.toLowerCase()
    if (item[method] !== undefined)
      throw new Error(`two operations for ${operation.method} ${operation.path}`)
    item[method] = object
    paths[path] = item
  }
  const tags = [...new Set(operations.flatMap((operation) => operation.tags))].map((name) => ({ name }))
  return {
    openapi: '3.1.0',
    info: { title: 'Sluice API', version, description: documentDescription },
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: "Authorization: Bearer sk_…".' },
      },
    },
    paths,
    tags,
  }
}

const documentDescription = [
  'Self-hosted stablecoin payment gateway. Authenticate with an API key as a bearer token; each operation',
  'names the scope it needs (an "admin" key holds every scope). Amounts are decimal strings, never JSON',
  'numbers. Errors carry a stable `code`; validation errors list each offending `path`. Money-moving',
  'operations require an Idempotency-Key header. Each key is rate-limited (429 with Retry-After).',
  'Responses may gain fields: ignore the ones you do not know.',
].join(' ')
