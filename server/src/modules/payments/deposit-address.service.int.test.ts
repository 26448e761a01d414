import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { withTransaction } from '../../db/tx.ts'
import { deriveEvmAddress } from '../keys/key.hd.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
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

  it('fills a pool to its target in batches and stops there (both sides of the target)', async () => {
    const { merchantId, xpub } = await newMerchant()
    await allocate(merchantId, 'invoice', 'inv_seed')
    const target = depositAddressLimits.poolTargetPerMerchant
    const batch = depositAddressLimits.refillBatchMax
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(batch)
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(target - batch)
    expect(await pooled(merchantId)).toBe(target)
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(0)
    // One below the target: exactly one is derived.
    await allocate(merchantId, 'invoice', 'inv_one')
    expect(await pooled(merchantId)).toBe(target - 1)
    expect(await refillDepositAddressPool(database.pool, merchantId)).toBe(1)
    const indexes = await allIndexes(merchantId)
    expect(indexes.map((row) => row.hd_index)).toEqual(indexes.map((_, position) => position))
    for (const row of indexes.filter((_, position) => position % 97 === 0))
      expect(row.address).toBe(deriveEvmAddress(xpub, row.hd_index).toLowerCase())
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
    expect(await pooled(active.merchantId)).toBeGreaterThanOrEqual(depositAddressLimits.refillBatchMax)
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
  const reserveOf = (limits: { perMerchant: number; refillBelow: number; merchantsMax: number }) =>
    new DepositAddressReserve(database.pool, (error) => errors.push(error), limits)

  it('holds up to its size, fetches again below the threshold and never below it', async () => {
    const { merchantId } = await newMerchant()
    const start = await refillDepositAddressPool(database.pool, merchantId)
    const reserve = reserveOf({ perMerchant: 8, refillBelow: 4, merchantsMax: 10 })
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

  it('holds for at most merchantsMax merchants; the next one always goes two-step', async () => {
    const first = await newMerchant()
    const second = await newMerchant()
    await refillDepositAddressPool(database.pool, first.merchantId)
    const secondStart = await refillDepositAddressPool(database.pool, second.merchantId)
    const reserve = reserveOf({ perMerchant: 4, refillBelow: 2, merchantsMax: 1 })
    reserve.take(first.merchantId)
    await reserve.settled()
    reserve.take(second.merchantId)
    await reserve.settled()
    expect([reserve.heldCount(first.merchantId), reserve.heldCount(second.merchantId)]).toEqual([4, 0])
    expect(reserve.take(second.merchantId)).toBeUndefined()
    expect(await pooled(second.merchantId)).toBe(secondStart)
    await reserve.close()
  })

  it('gives back what it holds on close, and an address given back after close goes to the pool', async () => {
    const { merchantId } = await newMerchant()
    const start = await refillDepositAddressPool(database.pool, merchantId)
    const reserve = reserveOf({ perMerchant: 6, refillBelow: 3, merchantsMax: 10 })
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
