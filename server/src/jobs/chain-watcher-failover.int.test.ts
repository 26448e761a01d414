import { randomBytes } from 'node:crypto'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestChain, type TestChain } from '../../test/setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { startRpcProxy } from '../../test/setup/rpc-proxy.ts'
import { importTestSanctionsList } from '../../test/setup/sanctions.ts'
import type { NetworkConfig } from '../config/config.types.ts'
import { createLogger } from '../lib/logger.ts'
import { createRawMasterKeyProvider } from '../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../modules/keys/key.service.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { allocateDepositAddress } from '../modules/payments/payment.service.ts'
import { ChainWatcher } from './chain-watcher.ts'

// RPC failures: the primary dies mid-scan, serves a stale head, refuses wide log ranges, or every RPC is
// down for a while. In each case no deposit is missed and none is recorded twice.
let database: TestDatabase
let chain: TestChain
let proxy: Awaited<ReturnType<typeof startRpcProxy>>
let address: Hex

async function recordedTxHashes(): Promise<string[]> {
  const result = await database.pool.query<{ tx_hash: string }>(
    'select tx_hash from payments order by block_number, log_index',
  )
  return result.rows.map((row) => row.tx_hash)
}

function networkWith(rpcUrls: string[]): NetworkConfig {
  return {
    name: 'testnet',
    kind: 'evm',
    chainId: 31_337,
    rpcUrls,
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: 3 },
    tokens: [{ symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 }],
  }
}

async function tickUntilCaughtUp(watcher: ChainWatcher, attempts = 30): Promise<void> {
  for (let index = 0; index < attempts; index += 1) {
    try {
      if ((await watcher.tick()) === 'caught-up') return
    } catch {
      // an outage tick: the next one tries again
    }
  }
  throw new Error('never caught up')
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  proxy = await startRpcProxy(chain.anvil.rpcUrl)
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  const merchantId = (await createMerchant(database.pool, { name: 'Failover Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  address = (
    await allocateDepositAddress(database.pool, {
      merchantId,
      ownerKind: 'customer',
      ownerId: 'cus_failover',
    })
  ).address as Hex
  await importTestSanctionsList(database.pool)
})

afterAll(async () => {
  await proxy?.stop()
  await chain?.stop()
  await database?.drop()
})

describe('RPC failover', () => {
  it('switches to the next URL when the primary dies mid-scan, missing nothing', async () => {
    const watcher = new ChainWatcher({
      pool: database.pool,
      network: networkWith([proxy.url, chain.anvil.rpcUrl]),
      logger: createLogger('silent'),
    })
    await tickUntilCaughtUp(watcher)
    const first = await chain.pay(chain.tokens.usdt, 1, address, 1_000_000n)
    await tickUntilCaughtUp(watcher)
    proxy.state.mode = 'down'
    const second = await chain.pay(chain.tokens.usdt, 1, address, 2_000_000n)
    await tickUntilCaughtUp(watcher)
    expect(watcher.rpc.status().currentUrl).toBe(chain.anvil.rpcUrl)
    expect(await recordedTxHashes()).toEqual([first.transactionHash, second.transactionHash])
    proxy.state.mode = 'forward'
  })

  it('treats a stale head as a failure of that URL', async () => {
    const watcher = new ChainWatcher({
      pool: database.pool,
      network: networkWith([proxy.url, chain.anvil.rpcUrl]),
      logger: createLogger('silent'),
      workerId: 'stale-test',
    })
    await database.pool.query('update chain_cursors set leased_by = null, lease_until = null')
    proxy.state.mode = 'stale-head'
    const payment = await chain.pay(chain.tokens.usdt, 1, address, 3_000_000n)
    await tickUntilCaughtUp(watcher)
    expect(watcher.rpc.status().urls[0]?.lastProblem).toMatch(/stale head/)
    expect(await recordedTxHashes()).toContain(payment.transactionHash)
    proxy.state.mode = 'forward'
  })

  it('catches up from its cursor after every RPC was down, and halves log ranges a provider refuses', async () => {
    const watcher = new ChainWatcher({
      pool: database.pool,
      network: networkWith([proxy.url]),
      logger: createLogger('silent'),
      workerId: 'outage-test',
    })
    await database.pool.query('update chain_cursors set leased_by = null, lease_until = null')
    await tickUntilCaughtUp(watcher)
    proxy.state.mode = 'down'
    const during: string[] = []
    for (let index = 0; index < 5; index += 1) {
      during.push((await chain.pay(chain.tokens.usdt, 2, address, BigInt(4_000_000 + index))).transactionHash)
      await chain.mine(3)
      await expect(watcher.tick()).rejects.toThrow(/every RPC URL/)
    }
    proxy.state.mode = 'forward'
    proxy.state.logsRangeMax = 4n
    await tickUntilCaughtUp(watcher, 100)
    const recorded = await recordedTxHashes()
    for (const hash of during)
      expect(recorded.filter((recordedHash) => recordedHash === hash)).toHaveLength(1)
    const statuses = await database.pool.query<{ status: string }>('select distinct status from payments')
    expect(statuses.rows.map((row) => row.status)).toEqual(['finalized'])
  })
})
