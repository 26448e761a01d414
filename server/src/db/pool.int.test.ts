import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { createSiblingPool } from './pool.ts'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})

afterAll(async () => {
  await database?.drop()
})

const setting = async (pool: TestDatabase['pool'], name: string) =>
  (await pool.query<{ value: string }>('select current_setting($1) as value', [name])).rows[0]?.value

describe('createSiblingPool', () => {
  it('reaches the same database with session settings of its own, leaving the main pool as it was', async () => {
    const sibling = createSiblingPool(database.pool, {
      sizeMax: 1,
      applicationName: 'sluice-test-sibling',
      settings: { plan_cache_mode: 'force_generic_plan' },
    })
    try {
      expect(await setting(sibling, 'plan_cache_mode')).toBe('force_generic_plan')
      expect(await setting(sibling, 'application_name')).toBe('sluice-test-sibling')
      expect(await setting(sibling, 'statement_timeout')).toBe(
        await setting(database.pool, 'statement_timeout'),
      )
      expect(await setting(database.pool, 'plan_cache_mode')).toBe('auto')
      const [mine, theirs] = await Promise.all([
        database.pool.query<{ name: string }>('select current_database() as name'),
        sibling.query<{ name: string }>('select current_database() as name'),
      ])
      expect(theirs.rows[0]?.name).toBe(mine.rows[0]?.name)
    } finally {
      await sibling.end()
    }
  })
})
