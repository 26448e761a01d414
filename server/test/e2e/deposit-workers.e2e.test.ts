import { randomBytes } from 'node:crypto'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import { createMerchant } from '../../src/modules/merchants/merchant.service.ts'
import { allocateDepositAddress } from '../../src/modules/payments/payment.service.ts'
import { startTestChain, type TestChain } from '../setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../setup/database.ts'
import {
  type GatewayProcess,
  spawnGateway,
  temporaryDataDir,
  writeConfigFile,
} from '../setup/gateway-process.ts'
import { importTestSanctionsList } from '../setup/sanctions.ts'

// Worker processes as production runs them (`npm run worker`, DATABASE_URL, configured networks):
// two at once share one scanner per network, and SIGKILLs mid-range lose and duplicate nothing.
let database: TestDatabase
let chain: TestChain
let address: Hex
let environment: Record<string, string>
const workers: GatewayProcess[] = []

async function startWorker(): Promise<GatewayProcess> {
  const worker = await spawnGateway('worker', { env: environment })
  workers.push(worker)
  return worker
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  const merchantId = (await createMerchant(database.pool, { name: 'Worker Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  address = (
    await allocateDepositAddress(database.pool, { merchantId, ownerKind: 'customer', ownerId: 'cus_workers' })
  ).address as Hex
  await importTestSanctionsList(database.pool)
  const dataDir = temporaryDataDir()
  const configPath = writeConfigFile(dataDir, {
    networks: [
      {
        name: 'testnet',
        kind: 'evm',
        chainId: 31_337,
        rpcUrls: [chain.anvil.rpcUrl, chain.anvil.wsUrl],
        blockTimeMs: 60_000,
        finality: { kind: 'confirmations', confirmations: 3 },
        tokens: [{ symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 }],
      },
    ],
  })
  environment = { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'warn' }
})

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  await chain?.stop()
  await database?.drop()
})

describe('deposit workers', () => {
  it('two workers, SIGKILLs mid-range: every deposit recorded and credited exactly once', async () => {
    let first = await startWorker()
    const second = await startWorker()
    const amounts: bigint[] = []
    for (let index = 0; index < 24; index += 1) {
      const amount = 1_000_000n + BigInt(index)
      amounts.push(amount)
      await chain.pay(chain.tokens.usdt, 1 + (index % 3), address, amount)
      if (index % 6 === 5) {
        first.child.kill('SIGKILL')
        await first.waitForExit()
        first = await startWorker()
      }
    }
    await chain.mine(3)
    const expectedTotal = amounts.reduce((sum, amount) => sum + amount, 0n)
    await waitFor(async () => {
      const result = await database.pool.query<{ count: string }>(
        "select count(*) from payments where status = 'finalized'",
      )
      return result.rows[0]?.count === String(amounts.length)
    }, 90_000)
    const payments = await database.pool.query<{ count: string; total: string }>(
      'select count(*), sum(amount) as total from payments',
    )
    expect(payments.rows[0]).toEqual({ count: String(amounts.length), total: expectedTotal.toString() })
    const credits = await database.pool.query<{ count: string; total: string }>(
      "select count(*), sum(amount) as total from ledger_transfers where code = 'deposit'",
    )
    expect(credits.rows[0]).toEqual({ count: String(amounts.length), total: expectedTotal.toString() })
    const lease = await database.pool.query<{ leased_by: string }>(
      "select leased_by from chain_cursors where network = 'testnet'",
    )
    expect(lease.rows).toHaveLength(1)
    second.child.kill('SIGTERM')
    expect((await second.waitForExit()).code).toBe(0)
  })
})
