import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { detectReorg } from './chain.service.ts'
import type { EvmRpc } from './evm-rpc.ts'

// An RPC that lags behind the blocks we stored (a failover target a few blocks behind, still
// "fresh" by the staleness bound) answers null for our newest blocks. That is not a fork.

let database: TestDatabase

const hashOf = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}`

/** The same chain as the one we stored, but its head is `head`: blocks above it are null. */
function laggingRpc(head: bigint): EvmRpc {
  return {
    call: async (_method: string, params: readonly unknown[]) => {
      const number = BigInt(params[0] as string)
      return number > head ? null : { number: `0x${number.toString(16)}`, hash: hashOf(number) }
    },
  } as unknown as EvmRpc
}

beforeAll(async () => {
  database = await createTestDatabase()
  // Scanned through block 1000 with 3 confirmations: 998 was seen final.
  await database.pool.query(
    `insert into chain_cursors (network, chain_id, next_block, finalized_block) values ('lagnet', 1, 1001, 998)`,
  )
  for (let n = 990n; n <= 1000n; n += 1n) {
    await database.pool.query('insert into chain_blocks (network, number, hash) values ($1, $2, $3)', [
      'lagnet',
      n.toString(),
      hashOf(n),
    ])
  }
})

afterAll(async () => {
  await database?.drop()
})

describe('reorg check against a lagging RPC', () => {
  it('finds no reorg when the node merely has not seen our newest blocks yet', async () => {
    // The node is 5 blocks behind (15 s on a 3 s chain: inside a 3-block-time staleness bound).
    const finding = await detectReorg(database.pool, laggingRpc(995n), 'lagnet')
    // Reported: { forkBlock: 996, deeperThanFinality: true } — non-final payments orphaned and
    // crediting halted on the network, though every hash the node does know matches.
    expect(finding).toBeUndefined()
  })
})
