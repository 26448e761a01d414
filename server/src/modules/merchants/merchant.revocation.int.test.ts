import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { Queryable } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import { authenticateApiKey, createMerchant, revokeApiKey } from './merchant.service.ts'

// A key revoked while a request's lookup of it is under way: that request read the row before the
// revocation and passes (it was already in flight), but its read must not make the key trusted for the
// requests after it.

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})

afterAll(async () => {
  await database?.drop()
})

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    if (isAppError(error)) return error.code
    throw error
  }
}

describe('revoking a key during a lookup', () => {
  it('the lookup read before the revocation does not make the key trusted afterwards', async () => {
    const store = await createMerchant(database.pool, { name: 'Revocation Store' })
    const header = `Bearer ${store.apiKey.key}`
    // Reads the row at once, and answers only once the revocation is done.
    let answer: () => void = () => {}
    const answered = new Promise<void>((resolve) => {
      answer = resolve
    })
    const slow: Queryable = {
      query: (async (...args: Parameters<Queryable['query']>) => {
        const result = await (database.pool.query as (...a: unknown[]) => Promise<unknown>)(...args)
        await answered
        return result
      }) as Queryable['query'],
    }
    const inFlight = authenticateApiKey(slow, header, 'invoices:read')
    await new Promise((resolve) => setTimeout(resolve, 100)) // its read has happened
    await revokeApiKey(database.pool, store.merchant.id, store.apiKey.apiKeyId)
    answer()
    expect(await codeOf(inFlight)).toBe('accepted')
    expect(await codeOf(authenticateApiKey(database.pool, header, 'invoices:read'))).toBe('api-key-invalid')
  })
})
