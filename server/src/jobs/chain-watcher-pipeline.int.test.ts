import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestChain, type TestChain } from '../../test/setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { importTestSanctionsList } from '../../test/setup/sanctions.ts'
import type { NetworkConfig } from '../config/config.types.ts'
import { createLogger } from '../lib/logger.ts'
import { chainLimits } from '../modules/chains/chain.limits.ts'
import { rangeFollowsRecordedChain } from '../modules/chains/chain.service.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { ChainWatcher } from './chain-watcher.ts'

// Catch-up with a large watch set: the next range's logs are read while this one is written. No range
// is skipped or read twice, a failed read-ahead is read again, a read-ahead overtaken by a reorg is not
// recorded, and a reorg deeper than finality still halts crediting.
const watchedCount = chainLimits.unsupportedTokenWatchAddressesMax + 100
let database: TestDatabase
let chain: TestChain
let watched: Hex[]

type LogsCall = { fromBlock: bigint; toBlock: bigint }

/**
 * An RPC that records the eth_getLogs ranges it lets through and can fail chosen ones: once, as an HTTP 503
 * from the node, or always as "too many results" when longer than `capBlocks` (a provider's log-count cap;
 * these are counted in `refused`, not recorded).
 */
function recordingRpc(
  network: NetworkConfig,
  options: { failOnce?: (call: LogsCall) => boolean; capBlocks?: bigint } = {},
) {
  const calls: LogsCall[] = []
  const counts = { refused: 0 }
  const failed = new Set<string>()
  const fetchImpl: typeof fetch = async (input, init) => {
    const body = JSON.parse(String(init?.body)) as {
      id: number
      method: string
      params: { fromBlock: string; toBlock: string }[]
    }
    if (body.method === 'eth_getLogs') {
      const call = {
        fromBlock: BigInt(body.params[0]?.fromBlock ?? 0),
        toBlock: BigInt(body.params[0]?.toBlock ?? 0),
      }
      if (options.capBlocks !== undefined && call.toBlock - call.fromBlock + 1n > options.capBlocks) {
        counts.refused += 1
        const error = { code: -32005, message: 'query returned more than 10000 results' }
        return Response.json({ jsonrpc: '2.0', id: body.id, error })
      }
      calls.push(call)
      const key = `${call.fromBlock}-${call.toBlock}`
      if (options.failOnce?.(call) === true && !failed.has(key)) {
        failed.add(key)
        return new Response('unavailable', { status: 503 })
      }
    }
    return await fetch(input, init)
  }
  return { rpc: new EvmRpc(network, fetchImpl), calls, counts }
}

function networkNamed(name: string, confirmations = 3): NetworkConfig {
  return {
    name,
    kind: 'evm',
    chainId: 31_337,
    rpcUrls: [chain.anvil.rpcUrl],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations },
    tokens: [{ symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 }],
  }
}

async function tickUntilCaughtUp(watcher: ChainWatcher, attempts = 30): Promise<number> {
  for (let tick = 1; tick <= attempts; tick += 1) {
    try {
      if ((await watcher.tick()) === 'caught-up') return tick
    } catch {
      // a failed tick: the next one tries again
    }
  }
  throw new Error('never caught up')
}

async function recorded(network: string): Promise<{ tx_hash: string; status: string }[]> {
  const result = await database.pool.query<{ tx_hash: string; status: string }>(
    'select tx_hash, status from payments where network = $1 order by block_number, log_index',
    [network],
  )
  return result.rows
}

/** Mints to watched addresses with blocks between them, spanning several ranges; returns the tx hashes. */
async function depositsAcrossRanges(first: number): Promise<string[]> {
  const range = chainLimits.blockRangeMax
  const hashes: string[] = []
  hashes.push((await chain.mint(chain.tokens.usdt, watched[first] as Hex, 1_000_000n)).transactionHash)
  await chain.mine(range - 2)
  hashes.push((await chain.mint(chain.tokens.usdt, watched[first + 1] as Hex, 2_000_000n)).transactionHash)
  hashes.push((await chain.mint(chain.tokens.usdt, watched[first + 2] as Hex, 3_000_000n)).transactionHash)
  await chain.mine(range + 1)
  hashes.push((await chain.mint(chain.tokens.usdt, watched[first + 3] as Hex, 4_000_000n)).transactionHash)
  await chain.mine(5)
  return hashes
}

function expectContiguous(calls: readonly LogsCall[], fromBlock: bigint, toBlock: bigint): void {
  const sorted = [...calls].sort((a, b) => (a.fromBlock < b.fromBlock ? -1 : 1))
  let next = fromBlock
  for (const call of sorted) {
    expect(call.fromBlock).toBe(next)
    next = call.toBlock + 1n
  }
  expect(next).toBe(toBlock + 1n)
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  await importTestSanctionsList(database.pool)
  const merchantId = (await createMerchant(database.pool, { name: 'Pipeline Store' })).merchant.id
  const inserted = await database.pool.query<{ address: Hex }>(
    `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
     select '0x' || md5(i::text || 'pipeline') || substr(md5(i::text), 1, 8), $1, 'customer', 'cus_pipeline_' || i, 0, i
     from generate_series(0, $2::int - 1) as i
     returning address`,
    [merchantId, watchedCount],
  )
  watched = inserted.rows.map((row) => row.address)
})

afterAll(async () => {
  await chain?.stop()
  await database?.drop()
})

describe('pipelined catch-up', () => {
  it('reads each range once, ahead of its turn, and records every deposit once', async () => {
    const network = networkNamed('pipeline-a')
    const { rpc, calls } = recordingRpc(network)
    const watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent'), rpc })
    await tickUntilCaughtUp(watcher)
    const start = (await chain.head()) + 1n
    const hashes = await depositsAcrossRanges(0)
    calls.length = 0
    const ticks = await tickUntilCaughtUp(watcher)
    expect(ticks).toBeGreaterThanOrEqual(3)
    expectContiguous(calls, start, await chain.head())
    expect((await recorded(network.name)).map((row) => row.tx_hash)).toEqual(hashes)
    // The tick that reached the head credited (beside its range's write, that range being read ahead):
    // what earlier ticks recorded is finalized. The last range's deposit, written beside that crediting,
    // waits for the next tick, unless that tick ran the crediting after its write (a CI run saw both).
    expect((await recorded(network.name)).slice(0, 3).map((row) => row.status)).toEqual([
      'finalized',
      'finalized',
      'finalized',
    ])
    // Caught up: open payments move again (credited at finality).
    await chain.mine(3)
    await tickUntilCaughtUp(watcher)
    expect(new Set((await recorded(network.name)).map((row) => row.status))).toEqual(new Set(['finalized']))
  }, 180_000)

  it('starts reading the next range in its first tick, once the first address load finds the set large', async () => {
    const network = networkNamed('pipeline-e')
    const start = (await chain.head()) + 1n
    await chain.mine(2 * chainLimits.blockRangeMax + 10)
    await database.pool.query(
      'insert into chain_cursors (network, chain_id, next_block) values ($1, $2, $3)',
      [network.name, network.chainId, start.toString()],
    )
    const { rpc, calls } = recordingRpc(network)
    const watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent'), rpc })
    expect(await watcher.tick()).toBe('more')
    await new Promise((resolve) => setTimeout(resolve, 300)) // the read-ahead's request is on its way
    // Before, a fresh watcher learnt the set was large only after its first range's read: the second
    // range was then read in the second tick, after the first range's write, not during it.
    expect(calls.map((call) => call.fromBlock)).toContain(start + BigInt(chainLimits.blockRangeMax))
    await tickUntilCaughtUp(watcher)
    expectContiguous(calls, start, await chain.head())
  }, 180_000)

  it('reads a range again when reading it ahead failed', async () => {
    const network = networkNamed('pipeline-b')
    let secondRangeStart: bigint | undefined
    const { rpc, calls } = recordingRpc(network, {
      failOnce: (call) => call.fromBlock === secondRangeStart,
    })
    const watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent'), rpc })
    await tickUntilCaughtUp(watcher)
    const start = (await chain.head()) + 1n
    secondRangeStart = start + BigInt(chainLimits.blockRangeMax)
    const hashes = await depositsAcrossRanges(4)
    calls.length = 0
    await tickUntilCaughtUp(watcher)
    expect(calls.filter((call) => call.fromBlock === secondRangeStart)).toHaveLength(2)
    expect((await recorded(network.name)).map((row) => row.tx_hash)).toEqual(expect.arrayContaining(hashes))
    const counts = await database.pool.query<{ count: string }>(
      'select count(*) from payments where network = $1 and tx_hash = any($2)',
      [network.name, hashes],
    )
    expect(counts.rows[0]?.count).toBe(String(hashes.length))
  }, 180_000)

  it('plans ranges at the length a node last answered in full: no refusal a range, no range read twice', async () => {
    const network = networkNamed('pipeline-f')
    // A node with a log-count cap, as many providers have: it refuses ranges longer than 600 blocks.
    const { rpc, calls: accepted, counts } = recordingRpc(network, { capBlocks: 600n })
    const watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent'), rpc })
    await tickUntilCaughtUp(watcher)
    const start = (await chain.head()) + 1n
    const hashes = await depositsAcrossRanges(12)
    accepted.length = 0
    counts.refused = 0
    await tickUntilCaughtUp(watcher, 60)
    // ~4,000 blocks in 500-block ranges: before, every range was asked at 2,000 and 1,000 blocks first
    // (two refusals each), and a range read ahead from the planned end was dropped and read again.
    expect(counts.refused).toBeLessThan(accepted.length / 2)
    const starts = accepted.map((call) => call.fromBlock)
    expect(new Set(starts).size).toBe(starts.length)
    expectContiguous(accepted, start, await chain.head())
    // The first catch-up's look-back may have recorded earlier tests' deposits on the shared chain.
    const ours = (await recorded(network.name)).filter((row) => hashes.includes(row.tx_hash))
    expect(ours.map((row) => row.tx_hash)).toEqual(hashes)
  }, 180_000)

  it('does not record a range read ahead when a reorg replaced it before its turn', async () => {
    const network = networkNamed('pipeline-c', 6)
    const watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent') })
    await tickUntilCaughtUp(watcher)
    await chain.mine(chainLimits.blockRangeMax + 10)
    const doomed = await chain.mint(chain.tokens.usdt, watched[8] as Hex, 5_000_000n)
    expect(await watcher.tick()).toBe('more') // first range written, the rest read ahead
    await new Promise((resolve) => setTimeout(resolve, 500)) // the read-ahead completes
    await chain.rpc('anvil_reorg', [2, []]) // replaces the deposit's block before its range is recorded
    await chain.mine(2)
    await tickUntilCaughtUp(watcher)
    expect((await recorded(network.name)).map((row) => row.tx_hash)).not.toContain(doomed.transactionHash)
    const later = await chain.mint(chain.tokens.usdt, watched[9] as Hex, 6_000_000n)
    await tickUntilCaughtUp(watcher)
    expect((await recorded(network.name)).map((row) => row.tx_hash)).toContain(later.transactionHash)
  }, 180_000)

  it('still halts crediting on a reorg deeper than finality', async () => {
    const network = networkNamed('pipeline-d')
    const watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent') })
    await tickUntilCaughtUp(watcher)
    await chain.mine(chainLimits.blockRangeMax + 10)
    await tickUntilCaughtUp(watcher)
    const final = await chain.mint(chain.tokens.usdt, watched[10] as Hex, 7_000_000n)
    await chain.mine(4)
    await tickUntilCaughtUp(watcher)
    expect((await recorded(network.name)).find((row) => row.tx_hash === final.transactionHash)?.status).toBe(
      'finalized',
    )
    await chain.rpc('anvil_reorg', [8, []])
    await tickUntilCaughtUp(watcher)
    const cursor = await database.pool.query<{ halted_reason: string | null }>(
      'select halted_reason from chain_cursors where network = $1',
      [network.name],
    )
    expect(cursor.rows[0]?.halted_reason).toMatch(/reorg from block \d+ reached a block we had seen final/)
  }, 180_000)
})

describe('rangeFollowsRecordedChain', () => {
  it('accepts a range whose parent matches the stored hash or is not stored, and refuses another fork', async () => {
    await database.pool.query(
      "insert into chain_cursors (network, chain_id, next_block) values ('parent-check', 31337, 0)",
    )
    const stored = `0x${'a'.repeat(64)}`
    const other = `0x${'b'.repeat(64)}`
    await database.pool.query(
      "insert into chain_blocks (network, number, hash) values ('parent-check', 41, $1)",
      [stored],
    )
    expect(
      await rangeFollowsRecordedChain(database.pool, 'parent-check', { number: 41n, hash: stored }),
    ).toBe(true)
    expect(await rangeFollowsRecordedChain(database.pool, 'parent-check', { number: 41n, hash: other })).toBe(
      false,
    )
    expect(await rangeFollowsRecordedChain(database.pool, 'parent-check', { number: 40n, hash: other })).toBe(
      true,
    )
    expect(await rangeFollowsRecordedChain(database.pool, 'parent-check', undefined)).toBe(true)
  })
})
