import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { createPool, createSiblingPool } from './pool.ts'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})

afterAll(async () => {
  await database?.drop()
})

const setting = async (pool: pg.Pool, name: string) =>
  (await pool.query<{ value: string }>('select current_setting($1) as value', [name])).rows[0]?.value

async function siblingSettings(url: string) {
  const main = createPool(url, { sizeMax: 1 })
  const sibling = createSiblingPool(main, {
    sizeMax: 1,
    applicationName: 'sluice-test-batches',
    settings: { plan_cache_mode: 'force_generic_plan' },
  })
  try {
    return {
      planCacheMode: await setting(sibling, 'plan_cache_mode'),
      applicationName: await setting(sibling, 'application_name'),
    }
  } finally {
    await sibling.end()
    await main.end()
  }
}

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

  it('sets plan_cache_mode when the database URL carries options of its own', async () => {
    const url = `${database.url}?options=${encodeURIComponent('-c work_mem=8MB')}`
    expect((await siblingSettings(url)).planCacheMode).toBe('force_generic_plan')
  })

  it('names its connections <pool>-batches when the database URL carries an application_name', async () => {
    const url = `${database.url}?application_name=sluice-from-url`
    expect((await siblingSettings(url)).applicationName).toBe('sluice-test-batches')
  })

  it('keeps a password given to the main pool as an option', () => {
    const main = new pg.Pool({ connectionString: database.url, password: 'secret' })
    const sibling = createSiblingPool(main, { sizeMax: 1, applicationName: 'x', settings: {} })
    expect((sibling.options as { password?: string }).password).toBe('secret')
    void sibling.end()
    void main.end()
  })
})
