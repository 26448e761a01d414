import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { chainLimits } from './chain.limits.ts'
import { insertCursorIfAbsent, leaseCursor } from './chain.repo.ts'
import { holdCursorLease, LeaseLostError, recordScannedRange } from './chain.service.ts'

// recordScannedRange's one statement ends as the four it replaced did.
let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(async () => await database?.drop())

const hash = (number: number, fork = 'a') => `0x${fork.repeat(2)}${number.toString(16).padStart(62, '0')}`
const blocks = (from: number, through: number, fork = 'a') =>
  Array.from({ length: through - from + 1 }, (_, index) => ({
    number: BigInt(from + index),
    hash: hash(from + index, fork),
  }))

async function state(network: string) {
  const cursor = await database.pool.query<{ next_block: string; finalized_block: string }>(
    'select next_block, finalized_block from chain_cursors where network = $1',
    [network],
  )
  const stored = await database.pool.query<{ number: string; hash: string }>(
    'select number, hash from chain_blocks where network = $1 order by number',
    [network],
  )
  return {
    next: cursor.rows[0]?.next_block,
    finalized: cursor.rows[0]?.finalized_block,
    blocks: stored.rows.map((row) => [Number(row.number), row.hash]),
  }
}

describe('recordScannedRange in one statement', () => {
  it('keeps the hashes at and above finalized − kept, replaces changed ones, raises finality only upwards', async () => {
    const network = 'cursor-window'
    await insertCursorIfAbsent(database.pool, network, 1, 0n)
    await leaseCursor(database.pool, network, 'w1', 60_000)
    await recordScannedRange(database.pool, {
      network,
      workerId: 'w1',
      nextBlock: 21n,
      blocks: blocks(0, 20),
      finalizedNumber: -1n,
    })
    expect((await state(network)).blocks.length).toBe(21)
    expect((await state(network)).finalized).toBe('0')
    await recordScannedRange(database.pool, {
      network,
      workerId: 'w1',
      nextBlock: 31n,
      blocks: blocks(18, 30, 'b'),
      finalizedNumber: 20n,
    })
    const after = await state(network)
    const keepFrom = 20 - chainLimits.finalBlocksKept
    expect(after.next).toBe('31')
    expect(after.finalized).toBe('20')
    expect(after.blocks.map(([number]) => number)).toEqual(
      Array.from({ length: 31 - keepFrom }, (_, index) => keepFrom + index),
    )
    expect(after.blocks.find(([number]) => number === 18)?.[1]).toBe(hash(18, 'b'))
    expect(after.blocks.find(([number]) => number === 17)?.[1]).toBe(hash(17, 'a'))
    await recordScannedRange(database.pool, {
      network,
      workerId: 'w1',
      nextBlock: 32n,
      blocks: blocks(31, 31),
      finalizedNumber: 15n,
    })
    expect((await state(network)).finalized).toBe('20')
  })

  it('writes nothing when the lease is lost', async () => {
    const network = 'cursor-fenced'
    await insertCursorIfAbsent(database.pool, network, 1, 0n)
    await leaseCursor(database.pool, network, 'w1', 60_000)
    await database.pool.query(
      "update chain_cursors set lease_until = now() - interval '1 second' where network = $1",
      [network],
    )
    await leaseCursor(database.pool, network, 'w2', 60_000)
    await expect(
      recordScannedRange(database.pool, {
        network,
        workerId: 'w1',
        nextBlock: 50n,
        blocks: blocks(0, 49),
        finalizedNumber: 40n,
      }),
    ).rejects.toBeInstanceOf(LeaseLostError)
    expect(await state(network)).toEqual({ next: '0', finalized: '0', blocks: [] })
  })
})

describe('holdCursorLease', () => {
  it('fails without the lease, and with it keeps another watcher from taking the lease until commit', async () => {
    const network = 'cursor-held'
    await insertCursorIfAbsent(database.pool, network, 1, 0n)
    await leaseCursor(database.pool, network, 'w1', 1)
    await new Promise((resolve) => setTimeout(resolve, 20)) // w1's lease has run out
    expect(await leaseCursor(database.pool, network, 'w2', 60_000)).toBeDefined()
    await expect(holdCursorLease(database.pool, network, 'w1')).rejects.toBeInstanceOf(LeaseLostError)
    // w2 holds it now: its crediting transaction locks the row, and w1's attempt to take over (its lease
    // expired meanwhile, say) waits for that commit instead of running beside it.
    await database.pool.query(
      "update chain_cursors set lease_until = now() + interval '50 milliseconds' where network = $1",
      [network],
    )
    const holder = await database.pool.connect()
    try {
      await holder.query('begin')
      await holdCursorLease(holder, network, 'w2')
      await new Promise((resolve) => setTimeout(resolve, 100))
      const other = await database.pool.connect()
      try {
        await other.query("set lock_timeout = '200ms'")
        await expect(leaseCursor(other, network, 'w1', 60_000)).rejects.toThrow(/lock timeout/)
        await other.query('reset lock_timeout')
      } finally {
        other.release()
      }
      await holder.query('commit')
    } finally {
      holder.release()
    }
    expect(await leaseCursor(database.pool, network, 'w1', 60_000)).toBeDefined()
  })
})
