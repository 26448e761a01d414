import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { withTransaction } from '../../db/tx.ts'
import { deriveEvmAddress } from '../keys/key.hd.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { PoolDemand } from './deposit-address.demand.ts'
import { depositAddressLimits } from './deposit-address.limits.ts'
import {
  allocateDepositAddressInTransaction,
  DepositAddressReserve,
  refillDepositAddressPool,
  refillDepositAddressPoolJobKind,
  refillLowDepositAddressPools,
} from './deposit-address.service.ts'
import {
  type AddressWatermark,
  loadAddressesSince,
  loadAddressPrefixesSince,
} from './payment-recording.service.ts'

// The pool of pre-derived deposit addresses (docs/adr/0018): claims never share a lock, every address
// is the one its HD index derives to, no index is handed out twice, and a rollback loses nothing.
let database: TestDatabase
const provider = createRawMasterKeyProvider(randomBytes(32))

async function newMerchant(): Promise<{ merchantId: string; xpub: string }> {
  const merchantId = (await createMerchant(database.pool, { name: 'Pool Store' })).merchant.id
  const account = await exportAccountXpub(database.pool, provider, merchantId)
  return { merchantId, xpub: account.xpub }
}

const allocate = (merchantId: string, ownerKind: 'invoice' | 'customer', ownerId: string) =>
  withTransaction(database.pool, (client) =>
    allocateDepositAddressInTransaction(client, { merchantId, ownerKind, ownerId }),
  )

async function pooled(merchantId: string): Promise<number> {
  const result = await database.pool.query<{ count: number }>(
    'select count(*)::int as count from deposit_address_pool where merchant_id = $1',
    [merchantId],
  )
  return result.rows[0]?.count ?? -1
}

/** Simulates claims: takes the `count` lowest pooled addresses out of the merchant's pool. */
async function takePooled(merchantId: string, count: number): Promise<void> {
  await database.pool.query(
    `delete from deposit_address_pool where (merchant_id, hd_index) in (
       select merchant_id, hd_index from deposit_address_pool where merchant_id = $1 order by hd_index limit $2)`,
    [merchantId, count],
  )
}

async function refillJobs(merchantId: string): Promise<number> {
  const result = await database.pool.query<{ count: number }>(
    'select count(*)::int as count from jobs where kind = $1 and payload->>$2 = $3',
    [refillDepositAddressPoolJobKind, 'merchant_id', merchantId],
  )
  return result.rows[0]?.count ?? -1
}

/** Every index of the merchant, allocated or pooled, with its address. */
async function allIndexes(merchantId: string): Promise<{ hd_index: number; address: string }[]> {
  const result = await database.pool.query<{ hd_index: number; address: string }>(
    `select hd_index, address from deposit_addresses where merchant_id = $1
     union all select hd_index, address from deposit_address_pool where merchant_id = $1
     order by hd_index`,
    [merchantId],
  )
  return result.rows
}

beforeAll(async () => {
  database = await createTestDatabase()
  await initKeys(database.pool, provider)
})

afterAll(async () => {
  await database?.drop()
})

describe('deposit address pool', () => {
  it('derives inline while the pool is empty and asks a worker to fill it', async () => {
    const { merchantId, xpub } = await newMerchant()
    const first = await allocate(merchantId, 'invoice', 'inv_first')
    expect(first).toMatchObject({ hdIndex: 0, address: deriveEvmAddress(xpub, 0).toLowerCase() })
    expect(await refillJobs(merchantId)).toBe(1)
    const second = await allocate(merchantId, 'invoice', 'inv_second')
    expect(second.hdIndex).toBe(1)
    // One live refill job per merchant (dedupe key), however many requests found the pool empty.
    expect(await refillJobs(merchantId)).toBe(1)
  })

  it('fills a pool to its floor in batches and stops there (both sides of the floor)', async () => {
    const { merchantId, xpub } = await newMerchant()
    await allocate(merchantId, 'invoice', 'inv_seed')
    const floor = depositAddressLimits.poolTargetMin
    // More than one batch: each batch takes its own indexes, and they join up without a gap.
    expect(floor).toBeGreaterThan(depositAddressLimits.refillBatchMax)
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(floor)
    expect(await pooled(merchantId)).toBe(floor)
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(0)
    // One below the floor: exactly one is derived.
    await allocate(merchantId, 'invoice', 'inv_one')
    expect(await pooled(merchantId)).toBe(floor - 1)
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(1)
    const indexes = await allIndexes(merchantId)
    expect(indexes.map((row) => row.hd_index)).toEqual(indexes.map((_, position) => position))
    for (const row of indexes.filter((_, position) => position % 97 === 0 || position > floor - 40))
      expect(row.address).toBe(deriveEvmAddress(xpub, row.hd_index).toLowerCase())
  })

  it('sizes the pool from the demand seen between two refills, not below the floor', async () => {
    const { merchantId } = await newMerchant()
    let nowMs = 0
    const demand = new PoolDemand(() => nowMs)
    const floor = depositAddressLimits.poolTargetMin
    expect(await refillDepositAddressPool(database.pool, merchantId, demand)).toBe(floor)
    // 600 taken in 1 s: 10 s of that demand is 6,000 addresses.
    await takePooled(merchantId, 600)
    nowMs = depositAddressLimits.demandSampleMinMs
    const sized = (600 * depositAddressLimits.poolDemandCoverMs) / depositAddressLimits.demandSampleMinMs
    expect(await refillDepositAddressPool(database.pool, merchantId, demand)).toBe(sized - (floor - 600))
    expect(await pooled(merchantId)).toBe(sized)
    // 50 taken in the next 10 s: below the floor's worth, so the target falls back to the floor.
    await takePooled(merchantId, 50)
    nowMs += 10_000
    expect(await refillDepositAddressPool(database.pool, merchantId, demand)).toBe(0)
    expect(await pooled(merchantId)).toBe(sized - 50)
  })

  it('keeps the index counter unlocked while a refill derives (only its own statement locks it)', async () => {
    const { merchantId } = await newMerchant()
    await allocate(merchantId, 'invoice', 'inv_seed')
    const refilling = refillDepositAddressPool(database.pool, merchantId)
    let done = false
    void refilling.finally(() => {
      done = true
    })
    let probes = 0
    while (!done) {
      // A lock held across the derivation (~0.2 s for 1,000) would fail this within 50 ms.
      await withTransaction(database.pool, async (client) => {
        await client.query("set local lock_timeout = '50ms'")
        await client.query('select next_index from hd_index_counters where merchant_id = $1 for update', [
          merchantId,
        ])
      })
      probes += 1
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(await refilling).toBe(depositAddressLimits.poolTargetMin)
    expect(probes).toBeGreaterThan(2)
  })

  it('gives 60 concurrent invoices 60 distinct pooled addresses, mixing pool and inline derivation', async () => {
    const { merchantId, xpub } = await newMerchant()
    await allocate(merchantId, 'invoice', 'inv_seed')
    await refillDepositAddressPool(database.pool, merchantId)
    // Drain all but 20 so the burst runs the pool dry and the rest derive inline.
    await database.pool.query(
      `delete from deposit_address_pool where merchant_id = $1
       and hd_index not in (select hd_index from deposit_address_pool where merchant_id = $1 order by hd_index limit 20)`,
      [merchantId],
    )
    const addresses = await Promise.all(
      Array.from({ length: 60 }, (_, index) => allocate(merchantId, 'invoice', `inv_burst_${index}`)),
    )
    expect(new Set(addresses.map((address) => address.address)).size).toBe(60)
    expect(new Set(addresses.map((address) => address.hdIndex)).size).toBe(60)
    for (const address of addresses)
      expect(address.address).toBe(deriveEvmAddress(xpub, address.hdIndex).toLowerCase())
    expect(addresses.filter((address) => address.hdIndex <= 20)).toHaveLength(20)
  })

  it('puts a claimed address back when the claiming transaction rolls back', async () => {
    const { merchantId } = await newMerchant()
    await allocate(merchantId, 'invoice', 'inv_seed')
    await refillDepositAddressPool(database.pool, merchantId)
    const before = await pooled(merchantId)
    let claimed = ''
    await expect(
      withTransaction(database.pool, async (client) => {
        claimed = (
          await allocateDepositAddressInTransaction(client, {
            merchantId,
            ownerKind: 'invoice',
            ownerId: 'inv_x',
          })
        ).address
        throw new Error('the invoice insert failed')
      }),
    ).rejects.toThrow('the invoice insert failed')
    expect(await pooled(merchantId)).toBe(before)
    const again = await allocate(merchantId, 'invoice', 'inv_y')
    expect(again.address).toBe(claimed)
  })

  it('gives a customer one permanent address, also when asked for it concurrently', async () => {
    const { merchantId } = await newMerchant()
    await allocate(merchantId, 'invoice', 'inv_seed')
    await refillDepositAddressPool(database.pool, merchantId)
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => allocate(merchantId, 'customer', 'cus_same')),
    )
    expect(new Set(answers.map((answer) => answer.address)).size).toBe(1)
    const emptyPool = await newMerchant()
    const inline = await Promise.all(
      Array.from({ length: 8 }, () => allocate(emptyPool.merchantId, 'customer', 'cus_same')),
    )
    expect(new Set(inline.map((answer) => answer.address)).size).toBe(1)
  })

  it('tops up, on its clock, only the pools of merchants that allocate', async () => {
    const active = await newMerchant()
    const idle = await newMerchant()
    await allocate(active.merchantId, 'invoice', 'inv_seed')
    await refillLowDepositAddressPools(database.pool)
    expect(await pooled(active.merchantId)).toBe(depositAddressLimits.poolTargetMin)
    expect(await pooled(idle.merchantId)).toBe(0)
  })

  it('loads an address whose transaction commits after a later one was loaded (commit order ≠ sequence)', async () => {
    const { merchantId } = await newMerchant()
    // From the pool, as in production: claims of one merchant run side by side.
    await allocate(merchantId, 'invoice', 'inv_seed')
    await refillDepositAddressPool(database.pool, merchantId)
    const seen = new Set<string>()
    const prefixes = new Set<string>()
    // Both loaders, whole addresses and packed prefixes, pages of 2, from the start (watermark 0).
    const load = async (watermark: AddressWatermark = { sinceXid: '0' }) => {
      await loadAddressPrefixesSince(database.pool, watermark, 2, (packed) => {
        for (let offset = 0; offset < packed.length; offset += 8)
          prefixes.add(`0x${packed.subarray(offset, offset + 8).toString('hex')}`)
      })
      return await loadAddressesSince(database.pool, watermark, 2, (page) => {
        for (const address of page) seen.add(address)
      })
    }
    let watermark = await load()
    // A takes its (lower) sequence first and stays open; B commits; a load runs in between.
    const slow = await database.pool.connect()
    try {
      await slow.query('begin')
      const first = await allocateDepositAddressInTransaction(slow, {
        merchantId,
        ownerKind: 'invoice',
        ownerId: 'inv_slow',
      })
      const second = await allocate(merchantId, 'invoice', 'inv_fast')
      watermark = await load(watermark)
      expect(seen.has(second.address)).toBe(true)
      expect(seen.has(first.address)).toBe(false)
      await slow.query('commit')
      watermark = await load(watermark)
      expect(seen.has(first.address)).toBe(true)
      expect(prefixes.has(first.address.slice(0, 18))).toBe(true)
      expect(prefixes.has(second.address.slice(0, 18))).toBe(true)
    } finally {
      slow.release()
    }
    // The old cursor (`sequence > the highest loaded`) would have skipped it.
    const sequences = await database.pool.query<{ owner_id: string; sequence: string }>(
      "select owner_id, sequence from deposit_addresses where owner_id in ('inv_slow', 'inv_fast') order by sequence",
    )
    expect(sequences.rows.map((row) => row.owner_id)).toEqual(['inv_slow', 'inv_fast'])
    // Nothing new: the next load reads nothing it has not seen, and the set does not grow.
    const before = seen.size
    await load(watermark)
    expect(seen.size).toBe(before)
  })
})

describe('addresses held by an API process (docs/adr/0022)', () => {
  const errors: unknown[] = []
  const reserveOf = (
    limits: { sizeMin: number; sizeMax: number; merchantsMax: number },
    nowMs: () => number = Date.now,
  ) => new DepositAddressReserve(database.pool, (error) => errors.push(error), limits, nowMs)

  it('holds up to its size, fetches again below the threshold and never below it', async () => {
    const { merchantId } = await newMerchant()
    const start = await refillDepositAddressPool(database.pool, merchantId)
    const reserve = reserveOf({ sizeMin: 8, sizeMax: 8, merchantsMax: 10 })
    expect(reserve.take(merchantId)).toBeUndefined() // nothing held yet: the caller goes two-step
    await reserve.settled()
    expect(reserve.heldCount(merchantId)).toBe(8)
    const taken = new Set<string>()
    // 8 → 4 held: at the threshold, no fetch.
    for (let index = 0; index < 4; index += 1) taken.add(reserve.take(merchantId)?.address ?? 'none')
    await reserve.settled()
    expect(reserve.heldCount(merchantId)).toBe(4)
    // One below the threshold: a fetch tops it up to its size again.
    taken.add(reserve.take(merchantId)?.address ?? 'none')
    await reserve.settled()
    expect(reserve.heldCount(merchantId)).toBe(8)
    expect(taken.size).toBe(5)
    expect(taken.has('none')).toBe(false)
    // Held addresses are out of the pool: no request could claim them.
    expect(await pooled(merchantId)).toBe(start - 8 - 5)
    await reserve.close()
    expect(errors).toEqual([])
  })

  it('fetches more for a merchant taking fast, up to its most, and back to its least when it slows', async () => {
    const { merchantId } = await newMerchant()
    await refillDepositAddressPool(database.pool, merchantId)
    let nowMs = 0
    const reserve = reserveOf({ sizeMin: 8, sizeMax: 32, merchantsMax: 10 }, () => nowMs)
    const takeMany = async (count: number) => {
      for (let index = 0; index < count; index += 1) {
        await reserve.takeOrAllocate(merchantId)
        await reserve.settled()
      }
    }
    await takeMany(1) // not yet tracked: the least
    await takeMany(20)
    expect(reserve.sizeOf(merchantId)).toBe(8) // less than reserveDemandSampleMinMs: not measured yet
    nowMs = depositAddressLimits.reserveDemandSampleMinMs
    await takeMany(1)
    // 21 takes in 250 ms; 250 ms of that rate is 21.
    const coverPerSample =
      depositAddressLimits.reserveDemandCoverMs / depositAddressLimits.reserveDemandSampleMinMs
    expect(reserve.sizeOf(merchantId)).toBe(21 * coverPerSample)
    expect(reserve.heldCount(merchantId)).toBe(21 * coverPerSample)
    await takeMany(99)
    nowMs += depositAddressLimits.reserveDemandSampleMinMs
    await takeMany(1)
    expect(reserve.sizeOf(merchantId)).toBe(32) // 100 in 250 ms: capped
    nowMs += 10 * depositAddressLimits.reserveDemandSampleMinMs
    await takeMany(1)
    expect(reserve.sizeOf(merchantId)).toBe(8) // 1 in 2.5 s: back to the least
    await reserve.close()
    expect(errors).toEqual([])
  })

  it('holds for at most merchantsMax merchants; the next one always goes two-step', async () => {
    const first = await newMerchant()
    const second = await newMerchant()
    await refillDepositAddressPool(database.pool, first.merchantId)
    const secondStart = await refillDepositAddressPool(database.pool, second.merchantId)
    const reserve = reserveOf({ sizeMin: 4, sizeMax: 4, merchantsMax: 1 })
    reserve.take(first.merchantId)
    await reserve.settled()
    reserve.take(second.merchantId)
    await reserve.settled()
    expect([reserve.heldCount(first.merchantId), reserve.heldCount(second.merchantId)]).toEqual([4, 0])
    expect(reserve.take(second.merchantId)).toBeUndefined()
    expect(await pooled(second.merchantId)).toBe(secondStart)
    await reserve.close()
  })

  it('with nothing held, takes the lowest pooled address, else derives the next index outside a transaction', async () => {
    const { merchantId, xpub } = await newMerchant()
    const reserve = reserveOf({ sizeMin: 4, sizeMax: 4, merchantsMax: 0 })
    // No pool and nothing held: index 0, taken in a statement of its own, and the worker asked to fill.
    const derived = await reserve.takeOrAllocate(merchantId)
    expect(derived).toMatchObject({ address: deriveEvmAddress(xpub, 0).toLowerCase(), hdIndex: 0 })
    expect(await refillJobs(merchantId)).toBe(1)
    // While another transaction holds the counter row, the pool still answers without waiting on it.
    await refillDepositAddressPool(database.pool, merchantId)
    const counter = await database.pool.connect()
    try {
      await counter.query('begin')
      await counter.query('select 1 from hd_index_counters where merchant_id = $1 for update', [merchantId])
      expect((await reserve.takeOrAllocate(merchantId)).hdIndex).toBe(1)
      await counter.query('rollback')
    } finally {
      counter.release()
    }
    expect(reserve.heldCount(merchantId)).toBe(0) // merchantsMax 0: nothing is held, one at a time
    // Given back (its key was held), it goes to the pool rather than past merchantsMax.
    const before = await pooled(merchantId)
    reserve.giveBack(merchantId, derived)
    for (let wait = 0; wait < 50 && (await pooled(merchantId)) === before; wait += 1)
      await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await pooled(merchantId)).toBe(before + 1)
    expect(reserve.heldCount(merchantId)).toBe(0)
    await reserve.close()
    expect(errors).toEqual([])
  })

  it('gives back what it holds on close, and an address given back after close goes to the pool', async () => {
    const { merchantId } = await newMerchant()
    const start = await refillDepositAddressPool(database.pool, merchantId)
    const reserve = reserveOf({ sizeMin: 6, sizeMax: 6, merchantsMax: 10 })
    reserve.take(merchantId)
    await reserve.settled()
    const held = reserve.take(merchantId)
    if (held === undefined) throw new Error('an address is held')
    await reserve.close()
    expect(await pooled(merchantId)).toBe(start - 1)
    reserve.giveBack(merchantId, held)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await pooled(merchantId)).toBe(start)
    expect(reserve.take(merchantId)).toBeUndefined() // closed: it holds and fetches nothing more
    await reserve.settled()
    expect(await pooled(merchantId)).toBe(start)
  })
})
