import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { apiScopes, decimalAmountSchema, idempotencyKeyPattern, pageSizeMax } from './common.ts'
import { apiContract, apiOperations } from './contract.ts'
import { ContractError, defineOperation, operationErrors, pathParameterNames } from './operation.ts'

const base = {
  method: 'POST',
  path: '/v1/things',
  summary: 's',
  description: 'd',
  tags: ['t'],
  scope: null,
  response: z.object({}),
  successStatus: 201,
} as const

describe('API contract', () => {
  it('keys each operation by its operationId, with unique method and path pairs', () => {
    for (const [name, operation] of Object.entries(apiContract)) expect(operation.operationId).toBe(name)
    const routes = apiOperations.map((operation) => `${operation.method} ${operation.path}`)
    expect(new Set(routes).size).toBe(routes.length)
  })

  it('describes each path parameter in params, and nothing else', () => {
    for (const operation of apiOperations) {
      const names = pathParameterNames(operation.path)
      const declared =
        operation.params === undefined
          ? []
          : Object.keys((z.toJSONSchema(operation.params).properties ?? {}) as Record<string, unknown>)
      expect(declared, operation.operationId).toEqual(names)
    }
  })

  it('names a known scope, admin, null or public for every operation', () => {
    for (const operation of apiOperations)
      expect([...apiScopes, 'admin', null, 'public']).toContain(operation.scope)
  })

  it('keeps public operations, and only them, under /v1/public/', () => {
    for (const operation of apiOperations)
      expect(operation.path.startsWith('/v1/public/'), operation.operationId).toBe(
        operation.scope === 'public',
      )
    expect(() => defineOperation({ ...base, operationId: 'e', moneyMoving: false, scope: 'public' })).toThrow(
      /public/,
    )
    expect(() =>
      defineOperation({ ...base, operationId: 'f', moneyMoving: false, path: '/v1/public/things' }),
    ).toThrow(/public/)
  })

  it('gives public operations neither authentication nor scope errors, and a per-address rate limit', () => {
    const codes = operationErrors(apiContract.getPublicInvoice).map((spec) => spec.code)
    expect(codes).not.toContain('authentication-required')
    expect(codes).not.toContain('api-key-invalid')
    expect(codes).not.toContain('scope-missing')
    const limited = operationErrors(apiContract.getPublicInvoice).find((spec) => spec.code === 'rate-limited')
    expect(limited?.description).toMatch(/client address/)
    expect(operationErrors(apiContract.openPaymentLink).map((spec) => spec.code)).toEqual(
      expect.arrayContaining(['idempotency-key-reused', 'payment-link-used', 'payment-link-inactive']),
    )
  })

  it('refuses a money-moving operation that does not require an Idempotency-Key', () => {
    expect(() =>
      defineOperation({ ...base, operationId: 'a', moneyMoving: true, idempotency: 'optional' }),
    ).toThrow(ContractError)
    expect(defineOperation({ ...base, operationId: 'b', moneyMoving: true }).idempotency).toBe('required')
    expect(defineOperation({ ...base, operationId: 'c', moneyMoving: false }).idempotency).toBe('none')
    expect(() =>
      defineOperation({
        ...base,
        method: 'GET',
        operationId: 'd',
        moneyMoving: false,
        idempotency: 'optional',
      }),
    ).toThrow(/GET/)
  })

  it('adds the shared error codes each feature brings', () => {
    const codes = (operation: (typeof apiOperations)[number]) =>
      operationErrors(operation).map((spec) => spec.code)
    expect(codes(apiContract.getStore).sort()).toEqual(
      ['api-key-invalid', 'authentication-required', 'internal-error', 'rate-limited'].sort(),
    )
    expect(codes(apiContract.revokeApiKey)).toEqual(
      expect.arrayContaining(['scope-missing', 'validation-failed', 'api-key-not-found']),
    )
    expect(codes(apiContract.createApiKey)).toEqual(
      expect.arrayContaining(['invalid-json', 'idempotency-key-reused', 'idempotency-key-in-progress']),
    )
    const statuses = operationErrors(apiContract.createApiKey).map((spec) => spec.status)
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b))
  })
})

describe('wire formats', () => {
  it('takes amounts as plain decimal strings only', () => {
    for (const good of ['0', '12.5', '0.000001', '1000000'])
      expect(decimalAmountSchema.safeParse(good).success).toBe(true)
    for (const bad of [12.5, '1e5', '-1', '01', '1.', '.5', ' 1', '', `1.${'0'.repeat(37)}`])
      expect(decimalAmountSchema.safeParse(bad).success, String(bad)).toBe(false)
  })

  it('bounds the page size on both sides', () => {
    const query = apiContract.listApiKeys.query
    expect(query.safeParse({ limit: pageSizeMax }).success).toBe(true)
    expect(query.safeParse({ limit: String(pageSizeMax) }).data).toEqual({ limit: pageSizeMax })
    expect(query.safeParse({ limit: pageSizeMax + 1 }).success).toBe(false)
    expect(query.safeParse({ limit: 0 }).success).toBe(false)
    expect(query.safeParse({ limit: '1.5' }).success).toBe(false)
  })

  it('accepts Idempotency-Keys of 1 to 255 safe characters', () => {
    expect(idempotencyKeyPattern.test('a'.repeat(255))).toBe(true)
    expect(idempotencyKeyPattern.test('a'.repeat(256))).toBe(false)
    expect(idempotencyKeyPattern.test('')).toBe(false)
    expect(idempotencyKeyPattern.test('order:1.refund_2-x')).toBe(true)
  })
})
