import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, getAddress, parseAbiItem } from 'viem'
import type { NetworkConfig } from '../../src/config/config.types.ts'
import { withTransaction } from '../../src/db/tx.ts'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import type { MasterKeyProvider } from '../../src/modules/keys/key.types.ts'
import { createMerchant } from '../../src/modules/merchants/merchant.service.ts'
import {
  createPayout,
  decidePayout,
  enrolApprover,
  getPayout,
} from '../../src/modules/payouts/payout.service.ts'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import type { Payout } from '../../src/modules/payouts/payout.types.ts'
import { importSanctionLists } from '../../src/modules/sanctions/sanction.service.ts'
import {
  getGatewayHotWalletAddress,
  recordGasStationFunding,
} from '../../src/modules/sweeps/sweep.service.ts'
import { startTestChain, type TestChain } from './chain.ts'
import { createTestDatabase, type TestDatabase } from './database.ts'
import { creditStoreBalance } from './store-funding.ts'

/**
 * Shared by the signers and treasury integration tests: a migrated database, an anvil chain with the
 * token clones, the HD root, a store whose payouts need one approval (the built-in default), an approver
 * and a treasurer with TOTP, and a funded hot wallet. Test-only (imported by *.int.test.ts files).
 */
export const fixtureNetworkName = 'testnet'
const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')

export type CustodyFixture = Awaited<ReturnType<typeof startCustodyFixture>>

async function startChainAndStore() {
  const database: TestDatabase = await createTestDatabase()
  const chain: TestChain = await startTestChain()
  const provider: MasterKeyProvider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  const merchantId = (await createMerchant(database.pool, { name: 'Custody Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  const listDirectory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(listDirectory, 0o755)
  const listFile = join(listDirectory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(listFile, `${getAddress(chain.account(19).address)}\n`)
  await importSanctionLists(database.pool, [listFile])
  const network: NetworkConfig = {
    name: fixtureNetworkName,
    kind: 'evm',
    chainId: 31_337,
    rpcUrls: [chain.anvil.rpcUrl],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: 2 },
    tokens: [
      { symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 },
      { symbol: 'USDC', contractAddress: chain.tokens.usdc, decimals: 6 },
    ],
  }
  return { database, chain, provider, merchantId, network }
}

async function enrolPeople(database: TestDatabase, merchantId: string) {
  const approver = await enrolApprover(database.pool, {
    merchantId,
    name: 'Checker',
    roles: ['approver'],
    apiKeyId: 'key_checker',
  })
  const treasurer = await enrolApprover(database.pool, {
    merchantId,
    name: 'Treasurer',
    roles: ['treasurer'],
    apiKeyId: 'key_treasurer',
  })
  return { approver, treasurer }
}

/** Credits the store and mints the same tokens into the hot wallet. */
async function fundHotWallet(
  parts: { database: TestDatabase; chain: TestChain; merchantId: string; hotWallet: Address },
  symbol: 'USDT' | 'USDC',
  amount: bigint,
): Promise<void> {
  const { database, chain, merchantId, hotWallet } = parts
  await creditStoreBalance(database.pool, merchantId, `${symbol}@${fixtureNetworkName}`, amount)
  await chain.mint(symbol === 'USDT' ? chain.tokens.usdt : chain.tokens.usdc, hotWallet, amount)
}

async function countTransfersTo(chain: TestChain, token: Address, to: Address): Promise<number> {
  const logs = await chain.publicClient.getLogs({
    address: token,
    event: transferEvent,
    args: { to },
    fromBlock: 0n,
  })
  return logs.length
}

export async function startCustodyFixture() {
  const { database, chain, provider, merchantId, network } = await startChainAndStore()
  const hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  const gas = 10n * 10n ** 18n
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
  await recordGasStationFunding(database.pool, fixtureNetworkName, gas, 'devnet-initial')
  const { approver, treasurer } = await enrolPeople(database, merchantId)
  let clock = new Date()
  // Each TOTP step is usable once per person: every code moves the clock one step on.
  const nextCode = (secret: string) => {
    clock = new Date(clock.getTime() + 31_000)
    return { code: totpAt(secret, BigInt(clock.getTime()) / 1000n), at: clock }
  }

  /** A payout request (pending approval under the built-in default). */
  async function request(to: Address, amount: string): Promise<Payout> {
    return await withTransaction(database.pool, (client) =>
      createPayout(
        client,
        {
          merchantId,
          apiKeyId: 'key_initiator',
          network: fixtureNetworkName,
          asset: 'USDT',
          destination: to,
          amount,
        },
        { networks: [network], now: () => clock },
      ),
    )
  }

  async function approve(payout: Payout): Promise<Payout> {
    const { code, at } = nextCode(approver.totpSecret)
    return await decidePayout(
      database.pool,
      {
        merchantId,
        id: payout.id,
        apiKeyId: 'key_checker',
        approverId: approver.approver.id,
        totpCode: code,
        revision: payout.revision,
        decision: 'approve',
      },
      at,
    )
  }

  return {
    database,
    chain,
    provider,
    merchantId,
    network,
    hotWallet,
    approver,
    treasurer,
    nextCode,
    now: () => clock,
    fund: (symbol: 'USDT' | 'USDC', amount: bigint) =>
      fundHotWallet({ database, chain, merchantId, hotWallet }, symbol, amount),
    request,
    approve,
    transfersTo: (token: Address, to: Address) => countTransfersTo(chain, token, to),
    payout: (id: string) => getPayout(database.pool, merchantId, id),
    destination: (index: number) => getAddress(chain.account(index).address),
    async stop() {
      await chain.stop()
      await database.drop()
    },
  }
}
