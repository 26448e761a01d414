import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { joinSqlParts } from '../db/statement.ts'
import { httpLimits } from './http.limits.ts'
import { canonicalJson, hashIdempotentRequest, joinedStatementOf, readIdempotencyKey } from './idempotency.ts'

const codeOf = (run: () => unknown) => {
  try {
    run()
    return 'accepted'
  } catch (error) {
    return (error as { code?: string }).code
  }
}

describe('Idempotency-Key header', () => {
  it('is required, optional or ignored per the operation', () => {
    expect(codeOf(() => readIdempotencyKey(undefined, 'required'))).toBe('idempotency-key-required')
    expect(readIdempotencyKey(undefined, 'optional')).toBeUndefined()
    expect(readIdempotencyKey('anything at all', 'none')).toBeUndefined()
    expect(readIdempotencyKey('order:42.refund-1_a', 'required')).toBe('order:42.refund-1_a')
  })

  it('is bounded on both sides of its length and character set', () => {
    const longest = 'a'.repeat(httpLimits.idempotencyKeyLengthMax)
    expect(readIdempotencyKey(longest, 'required')).toBe(longest)
    expect(codeOf(() => readIdempotencyKey(`${longest}a`, 'required'))).toBe('idempotency-key-invalid')
    expect(readIdempotencyKey('a', 'required')).toBe('a')
    for (const bad of ['', 'a b', 'a/b', 'ключ', 'a\nb'])
      expect(
        codeOf(() => readIdempotencyKey(bad, 'required')),
        bad,
      ).toBe('idempotency-key-invalid')
    expect(codeOf(() => readIdempotencyKey(['a', 'b'], 'required'))).toBe('idempotency-key-invalid')
  })
})

describe('request hash', () => {
  it('ignores object key order at every depth but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}')
    const hash = (body: unknown) => hashIdempotentRequest('POST', '/v1/x', body).toString('hex')
    expect(hash({ a: 1, b: 2 })).toBe(hash({ b: 2, a: 1 }))
    expect(hash({ a: [1, 2] })).not.toBe(hash({ a: [2, 1] }))
  })

  it('differs by method, path and body', () => {
    const base = hashIdempotentRequest('POST', '/v1/x', { a: '1' })
    expect(base.length).toBe(32)
    expect(hashIdempotentRequest('PATCH', '/v1/x', { a: '1' }).equals(base)).toBe(false)
    expect(hashIdempotentRequest('POST', '/v1/y', { a: '1' }).equals(base)).toBe(false)
    expect(hashIdempotentRequest('POST', '/v1/x', { a: '1.0' }).equals(base)).toBe(false)
    expect(hashIdempotentRequest('POST', '/v1/x', undefined).equals(base)).toBe(false)
  })

  it('canonical JSON parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)))
      }),
    )
  })
})

describe('joinedStatementOf', () => {
  const wrap = (ctes: string) => `with ${ctes} select 1`
  const parts = (gate: string, values: unknown[]) => [
    { text: 'claim as (insert into t values ($1, $2) returning 1)', values: ['m', 'k'] },
    { text: `w as (insert into u select $1, $2 where exists (select 1 from ${gate}))`, values },
  ]

  it("joins as joinSqlParts does, then reuses the text with each call's own values", () => {
    const expected = wrap(joinSqlParts(parts('claim', [1, 2]), ',\n').text)
    expect(joinedStatementOf('test-op', parts('claim', [1, 2]), wrap)).toEqual({
      text: expected,
      values: ['m', 'k', 1, 2],
    })
    expect(joinedStatementOf('test-op', parts('claim', [3, 4]), () => 'not called')).toEqual({
      text: expected,
      values: ['m', 'k', 3, 4],
    })
  })

  it("joins afresh when a part's text or value count changed", () => {
    joinedStatementOf('test-op-2', parts('claim', [1, 2]), wrap)
    const otherGate = joinedStatementOf('test-op-2', parts('other', [1, 2]), wrap)
    expect(otherGate.text).toContain('from other')
    expect(() => joinedStatementOf('test-op-2', parts('other', [1]), wrap)).toThrow(/refers to \$2/)
  })
})
