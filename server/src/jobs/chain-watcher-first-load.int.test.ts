import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { createLogger } from '../lib/logger.ts'
import { chainLimits } from '../modules/chains/chain.limits.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { ChainWatcher } from './chain-watcher.ts'

// The watcher's first address load (docs/adr/0011) at the small/large boundary (1,000 and 1,001 rows: the
// deciding page), with an address committed while the first load runs, and after a failed prefix page.
// Drives the watcher's private loader directly: no chain is needed, and no tick could show these states.
let database: TestDatabase
let merchantId: string
let counter = 0

type Internals = {
  loadWatchSet: () => Promise<void>
  addressesPrimed: boolean
  refreshAddresses: () => Promise<void>
  addresses: { size: number; has: (address: string) => boolean }
  smallWatchList: string[]
  largeWatchSet: boolean
  addressWatermark: unknown
}

const network: NetworkConfig = {
  name: 'first-load',
  kind: 'evm',
  chainId: 31_337,
  rpcUrls: ['http://127.0.0.1:1'],
  blockTimeMs: 60_000,
  finality: { kind: 'confirmations', confirmations: 3 },
  tokens: [],
}

const watcherOn = (pool: Pool) =>
  new ChainWatcher({ pool, network, logger: createLogger('silent') }) as unknown as Internals

async function insertAddresses(
  count: number,
  db: { query: Pool['query'] } = database.pool,
): Promise<string[]> {
  const first = counter
  counter += count
  const result = await db.query<{ address: string }>(
    `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
     select '0x' || md5(i::text || 'first-load') || substr(md5(i::text), 1, 8), $1, 'customer', 'cus_first_load_' || i, 0, i
     from generate_series($2::int, $2::int + $3::int - 1) as i
     returning address`,
    [merchantId, first, count],
  )
  return result.rows.map((row) => row.address)
}

beforeAll(async () => {
  database = await createTestDatabase()
  merchantId = (await createMerchant(database.pool, { name: 'First Load Store' })).merchant.id
})

afterAll(async () => await database?.drop())

describe("the watcher's first address load", () => {
  it('stays small at 1,000 addresses, and turns large with all of them at 1,001 and 1,002', async () => {
    const all = await insertAddresses(chainLimits.unsupportedTokenWatchAddressesMax)
    const small = watcherOn(database.pool)
    await small.refreshAddresses()
    expect(small.largeWatchSet).toBe(false)
    expect(small.smallWatchList).toHaveLength(all.length)
    expect(small.addresses.size).toBe(all.length)

    all.push(...(await insertAddresses(1)))
    const boundary = watcherOn(database.pool)
    await boundary.refreshAddresses()
    expect(boundary.largeWatchSet).toBe(true)
    expect(boundary.addresses.size).toBe(all.length)
    for (const address of all) expect(boundary.addresses.has(address)).toBe(true)

    // The small watcher crosses the boundary on a later load.
    await small.refreshAddresses()
    expect(small.largeWatchSet).toBe(true)
    expect(small.addresses.size).toBe(all.length)

    all.push(...(await insertAddresses(1)))
    const past = watcherOn(database.pool)
    await past.refreshAddresses()
    expect(past.addresses.size).toBe(all.length)
    for (const address of all) expect(past.addresses.has(address)).toBe(true)
  })

  it('finds an address whose transaction began before the first load and committed during it', async () => {
    const client = await database.pool.connect()
    try {
      await client.query('begin')
      const [late] = await insertAddresses(1, client) // lower sequence, commits after the load's reads
      await insertAddresses(5)
      const watcher = watcherOn(database.pool)
      const first = watcher.refreshAddresses()
      await first
      await client.query('commit')
      expect(watcher.addresses.has(late as string)).toBe(false) // not yet visible: fine
      await watcher.refreshAddresses() // the load a range's read awaits
      expect(watcher.addresses.has(late as string)).toBe(true)
    } finally {
      client.release()
    }
  })

  it('loads the whole set on loadWatchSet, and the first tick then starts no load of its own', async () => {
    const all = (await database.pool.query<{ address: string }>('select address from deposit_addresses')).rows
    const watcher = watcherOn(database.pool)
    await watcher.loadWatchSet()
    expect(watcher.addressesPrimed).toBe(true) // tick() skips its overlapped first load
    expect(watcher.addressWatermark).toBeDefined()
    expect(watcher.addresses.size).toBe(all.length)
    for (const { address } of all) expect(watcher.addresses.has(address)).toBe(true)
  })

  it('does not take a first load whose prefix page failed for complete', async () => {
    const all = (await database.pool.query<{ address: string }>('select address from deposit_addresses')).rows
    let failures = 1
    const flaky = new Proxy(database.pool, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver)
        return (...args: Parameters<Pool['query']>) => {
          const text = typeof args[0] === 'string' ? args[0] : ''
          if (text.includes('string_agg(substr(address, 3, 16)') && failures-- > 0)
            return Promise.reject(new Error('injected page failure'))
          return (target.query as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    }) as Pool
    const watcher = watcherOn(flaky)
    await expect(watcher.refreshAddresses()).rejects.toThrow('injected page failure')
    expect(watcher.addressWatermark).toBeUndefined()
    await watcher.refreshAddresses()
    expect(watcher.addressWatermark).toBeDefined()
    expect(watcher.addresses.size).toBe(all.length)
    for (const { address } of all) expect(watcher.addresses.has(address)).toBe(true)
  })
})
