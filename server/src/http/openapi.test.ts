import { apiContract, apiOperations } from '@sluice/sdk/api/contract'
import { defineOperation, operationErrors } from '@sluice/sdk/api/operation'
import Ajv2020Module from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { docsContentSecurityPolicy, renderDocsPage } from './docs-page.ts'
import { buildOpenApiDocument, type JsonSchema, type OpenApiDocument } from './openapi.ts'

// ajv comes with Fastify (it validates Fastify's own schemas); here it checks our generated ones.
const Ajv2020 = Ajv2020Module.default

const moneyMoving = defineOperation({
  operationId: 'testPay',
  method: 'POST',
  path: '/v1/test/payments',
  summary: 'Pay (test)',
  description: 'A money-moving operation for the generator tests.',
  tags: ['test'],
  scope: 'payouts:write',
  moneyMoving: true,
  body: z.strictObject({ amount: z.string() }),
  response: z.object({ id: z.string() }),
  successStatus: 201,
})

const document = buildOpenApiDocument([...apiOperations, moneyMoving])
const testBase = 'https://schemas.sluice.test/'

function operationAt(path: string, method: string): JsonSchema {
  const operation = document.paths[path]?.[method]
  if (operation === undefined) throw new Error(`no ${method} ${path}`)
  return operation
}

/** Every schema object in the document that sits under a `schema` key or in components. */
function allSchemas(value: unknown, found: JsonSchema[] = []): JsonSchema[] {
  if (value === null || typeof value !== 'object') return found
  for (const [key, child] of Object.entries(value)) {
    if (key === 'schema' && child !== null && typeof child === 'object') found.push(child as JsonSchema)
    allSchemas(child, found)
  }
  return found
}

/** Components under absolute ids, so ajv resolves `#/components/schemas/X` references. */
function createValidator() {
  const ajv = new Ajv2020({ strict: true, validateFormats: false, keywords: ['x-sluice-errors'] })
  const rebase = (schema: unknown) =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${testBase}`)) as JsonSchema
  for (const [name, schema] of Object.entries(document.components.schemas))
    ajv.addSchema({ ...rebase(schema), $id: `${testBase}${name}` })
  return { ajv, rebase }
}

describe('OpenAPI document', () => {
  it('lists every contract operation once, at its method and path', () => {
    const listed = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    )
    expect(listed.sort()).toEqual([...Object.keys(apiContract), 'testPay'].sort())
    expect(operationAt('/v1/api-keys/{id}', 'delete').operationId).toBe('revokeApiKey')
    expect(document.openapi).toBe('3.1.0')
  })

  it("lists each operation's error codes as an enum under their status", () => {
    for (const operation of [...apiOperations, moneyMoving]) {
      const path = operation.path.replace(/:([a-z_]+)/g, '{$1}')
      const responses = operationAt(path, operation.method.toLowerCase()).responses as Record<
        string,
        JsonSchema
      >
      for (const spec of operationErrors(operation)) {
        const response = responses[String(spec.status)] as { content: Record<string, { schema: JsonSchema }> }
        const allOf = (response.content['application/json']?.schema.allOf ?? []) as JsonSchema[]
        const codes = (allOf[1]?.properties as { code: { enum: string[] } } | undefined)?.code.enum ?? []
        expect(codes, `${operation.operationId} ${spec.status}`).toContain(spec.code)
      }
    }
    const revoke = operationAt('/v1/api-keys/{id}', 'delete').responses as Record<string, JsonSchema>
    expect(Object.keys(revoke)).toEqual(
      expect.arrayContaining(['200', '401', '403', '404', '422', '429', '500']),
    )
    const store = operationAt('/v1/store', 'get').responses as Record<string, JsonSchema>
    expect(store['403']).toBeUndefined() // any valid key: never scope-missing
    expect(store['422']).toBeUndefined() // no input to validate
  })

  it('requires the Idempotency-Key header on money-moving operations and documents replays', () => {
    const pay = operationAt('/v1/test/payments', 'post')
    const header = (pay.parameters as JsonSchema[]).find((parameter) => parameter.name === 'Idempotency-Key')
    expect(header?.required).toBe(true)
    const codes = operationErrors(moneyMoving).map((spec) => spec.code)
    expect(codes).toEqual(
      expect.arrayContaining([
        'idempotency-key-required',
        'idempotency-key-invalid',
        'idempotency-key-in-progress',
        'idempotency-key-reused',
      ]),
    )
    const create = operationAt('/v1/api-keys', 'post')
    expect((create.parameters as JsonSchema[]).find((p) => p.name === 'Idempotency-Key')?.required).toBe(
      false,
    )
    expect(operationErrors(apiContract.createApiKey).map((spec) => spec.code)).not.toContain(
      'idempotency-key-required',
    )
    expect(operationAt('/v1/api-keys', 'get').parameters).not.toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key' }),
    )
  })

  it('describes the bearer scheme and each operation scope', () => {
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(operationAt('/v1/store', 'get').security).toEqual([{ apiKey: [] }])
    expect(operationAt('/v1/test/payments', 'post').security).toEqual([{ apiKey: ['payouts:write'] }])
  })

  it('generates valid JSON Schema 2020-12 whose references all resolve', () => {
    const { ajv, rebase } = createValidator()
    for (const [name, schema] of Object.entries(document.components.schemas))
      expect(ajv.validateSchema(schema), `${name}: ${ajv.errorsText()}`).toBe(true)
    const schemas = allSchemas(document.paths)
    expect(schemas.length).toBeGreaterThan(20)
    for (const schema of schemas) expect(() => ajv.compile(rebase(schema))).not.toThrow()
  })

  it('accepts real wire values and refuses amounts as numbers and unknown request fields', () => {
    const { ajv, rebase } = createValidator()
    const apiKey = ajv.getSchema(`${testBase}ApiKey`)
    const sample = {
      id: 'key_01J0000000000000000000000A',
      label: 'ci',
      scopes: ['invoices:read'],
      key_prefix: 'sk_abc',
      created_at: '2026-01-01T00:00:00.000Z',
      revoked_at: null,
    }
    expect(apiKey?.(sample)).toBe(true)
    // Responses may gain fields: the document must not forbid them.
    expect(apiKey?.({ ...sample, added_later: 1 })).toBe(true)
    const body = (
      operationAt('/v1/api-keys', 'post').requestBody as { content: Record<string, { schema: JsonSchema }> }
    ).content['application/json']?.schema
    const validateBody = ajv.compile(rebase(body))
    expect(validateBody({ label: 'x', scopes: ['ledger:read'] })).toBe(true)
    expect(validateBody({ label: 'x', scopes: ['ledger:read'], extra: true })).toBe(false)
    expect(validateBody({ label: 'x', scopes: ['root'] })).toBe(false)
  })

  it('refuses a contract whose path parameters do not match its params schema', () => {
    const broken = defineOperation({
      operationId: 'broken',
      method: 'GET',
      path: '/v1/things/:thingId',
      summary: 'Broken',
      description: 'params names the wrong field',
      tags: ['test'],
      scope: null,
      moneyMoving: false,
      params: z.strictObject({ id: z.string() }),
      response: z.object({}),
      successStatus: 200,
    })
    expect(() => buildOpenApiDocument([broken])).toThrow(/path parameters/)
    expect(() => buildOpenApiDocument([apiContract.getStore, apiContract.getStore])).toThrow(/duplicate/)
  })
})

describe('docs page', () => {
  const page = renderDocsPage(document)

  it('renders every operation, parameter, schema and error code', () => {
    for (const operation of [...apiOperations, moneyMoving]) {
      expect(page).toContain(`id="op-${operation.operationId}"`)
      for (const spec of operationErrors(operation)) expect(page).toContain(`<code>${spec.code}</code>`)
    }
    for (const name of Object.keys(document.components.schemas)) expect(page).toContain(`id="schema-${name}"`)
    for (const text of ['starting_after', 'Idempotency-Key', 'admin key', 'key_prefix'])
      expect(page).toContain(text)
  })

  it('is self-contained: no scripts and no resource from another host', () => {
    expect(page).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    expect(page).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i)
    expect(docsContentSecurityPolicy).toContain("default-src 'none'")
  })

  it('escapes text from the contract', () => {
    const hostile: OpenApiDocument = {
      ...document,
      info: { ...document.info, title: '<script>alert(1)</script>' },
    }
    const rendered = renderDocsPage(hostile)
    expect(rendered).not.toContain('<script>')
    expect(rendered).toContain('&#60;script&#62;')
  })
})
