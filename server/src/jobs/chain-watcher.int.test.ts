import { randomBytes } from 'node:crypto'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestChain, type TestChain } from '../../test/setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'
import { importTestSanctionsList } from '../../test/setup/sanctions.ts'
import type { NetworkConfig } from '../config/config.types.ts'
import { createLogger } from '../lib/logger.ts'
import { createRawMasterKeyProvider } from '../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../modules/keys/key.service.ts'
import { getAccountBalance, getOrCreateAccount } from '../modules/ledger/ledger.service.ts'
import { createMerchant } from '../modules/merchants/merchant.service.ts'
import { refillDepositAddressPool } from '../modules/payments/deposit-address.service.ts'
import { allocateDepositAddress, allocateDepositAddressWith } from '../modules/payments/payment.service.ts'
import { ChainWatcher } from './chain-watcher.ts'

// Deposits on a real anvil chain into a real PostgreSQL: exact amounts at 6 and 18 decimals through
// detected → confirmed → finalized, reorgs, unsupported tokens, dust and sanctioned senders.
const sanctionedSenderIndex = 7
let database: TestDatabase
let chain: TestChain
let network: NetworkConfig
let watcher: ChainWatcher
let merchantId: string
let customerAddress: Hex
let invoiceAddress: Hex

async function settle(): Promise<void> {
  for (let index = 0; index < 20; index += 1) {
    if ((await watcher.tick()) === 'caught-up') return
  }
  throw new Error('watcher did not catch up')
}

async function paymentRows() {
  const result = await database.pool.query<{
    tx_hash: string
    status: string
    amount: string
    asset_id: string | null
    final: boolean
    owner_id: string
  }>('select tx_hash, status, amount, asset_id, final, owner_id from payments order by detected_at')
  return result.rows
}

async function paymentOf(txHash: string) {
  return (await paymentRows()).find((row) => row.tx_hash === txHash)
}

async function eventTypesOf(txHash: string): Promise<string[]> {
  const result = await database.pool.query<{ type: string }>(
    "select type from events where payload->>'tx_hash' = $1 order by sequence",
    [txHash],
  )
  return result.rows.map((row) => row.type)
}

async function customerBalance(assetId: string): Promise<bigint> {
  const account = await getOrCreateAccount(database.pool, {
    ownerType: 'customer',
    ownerId: 'cus_test',
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  return (await getAccountBalance(database.pool, account.id)).posted
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  merchantId = (await createMerchant(database.pool, { name: 'Test Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  customerAddress = (
    await allocateDepositAddress(database.pool, { merchantId, ownerKind: 'customer', ownerId: 'cus_test' })
  ).address as Hex
  invoiceAddress = (
    await allocateDepositAddress(database.pool, { merchantId, ownerKind: 'invoice', ownerId: 'inv_test' })
  ).address as Hex
  await importTestSanctionsList(database.pool, [chain.account(sanctionedSenderIndex).address])
  network = {
    name: 'testnet',
    kind: 'evm',
    chainId: 31_337,
    rpcUrls: [chain.anvil.rpcUrl],
    // automine chains have old heads between transactions: a long block time keeps the head "fresh".
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: 4 },
    tokens: [
      { symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 },
      { symbol: 'BSC-USD', contractAddress: chain.tokens.bscUsd, decimals: 18 },
    ],
  }
  watcher = new ChainWatcher({ pool: database.pool, network, logger: createLogger('silent') })
  await settle()
})

afterAll(async () => {
  await chain?.stop()
  await database?.drop()
})

describe('deposit watcher', () => {
  it('allocates distinct permanent and per-invoice addresses, stable on repeat', async () => {
    expect(customerAddress).not.toBe(invoiceAddress)
    const again = await allocateDepositAddress(database.pool, {
      merchantId,
      ownerKind: 'customer',
      ownerId: 'cus_test',
    })
    expect(again.address).toBe(customerAddress)
  })

  it('takes a 6-decimal deposit through detected → confirmed → finalized and credits it exactly once', async () => {
    const receipt = await chain.pay(chain.tokens.usdt, 1, customerAddress, 12_345_678n)
    await settle()
    expect(await paymentOf(receipt.transactionHash)).toMatchObject({
      status: 'detected',
      amount: '12345678',
      asset_id: 'USDT@testnet',
    })
    await chain.mine(1)
    await settle()
    expect((await paymentOf(receipt.transactionHash))?.status).toBe('confirmed')
    expect(await customerBalance('USDT@testnet')).toBe(0n)
    await chain.mine(2)
    await settle()
    expect(await paymentOf(receipt.transactionHash)).toMatchObject({ status: 'finalized', final: true })
    expect(await customerBalance('USDT@testnet')).toBe(12_345_678n)
    await chain.mine(3)
    await settle()
    expect(await customerBalance('USDT@testnet')).toBe(12_345_678n)
    expect(await eventTypesOf(receipt.transactionHash)).toEqual([
      'payment.initiated',
      'payment.confirmed',
      'payment.finalized',
    ])
  })

  it('watches an address whose transaction committed after a later address was loaded', async () => {
    // Pooled addresses: two invoices of one merchant allocate side by side, as under load.
    await refillDepositAddressPool(database.pool, merchantId)
    const slow = await database.pool.connect()
    let late: Hex
    try {
      await slow.query('begin')
      late = (
        await allocateDepositAddressWith(slow, { merchantId, ownerKind: 'invoice', ownerId: 'inv_late' })
      ).address as Hex
      await allocateDepositAddress(database.pool, { merchantId, ownerKind: 'invoice', ownerId: 'inv_early' })
      // The watcher loads the early address (the higher sequence) while the late one is uncommitted.
      await chain.mine(1)
      await settle()
      await slow.query('commit')
    } finally {
      slow.release()
    }
    const receipt = await chain.pay(chain.tokens.usdt, 1, late, 2_000_000n)
    await settle()
    expect(await paymentOf(receipt.transactionHash)).toMatchObject({
      status: 'detected',
      owner_id: 'inv_late',
    })
  })

  it('credits an 18-decimal amount to the last unit', async () => {
    const amount = 100n * 10n ** 18n + 1n
    const receipt = await chain.pay(chain.tokens.bscUsd, 2, customerAddress, amount)
    await chain.mine(4)
    await settle()
    expect(await paymentOf(receipt.transactionHash)).toMatchObject({
      status: 'finalized',
      amount: amount.toString(),
    })
    expect(await customerBalance('BSC-USD@testnet')).toBe(amount)
  })

  it('records an unconfigured token as unsupported and tiny transfers as dust, crediting neither', async () => {
    const unsupported = await chain.pay(chain.tokens.usdc, 3, invoiceAddress, 5_000_000n)
    const zero = await chain.pay(chain.tokens.usdt, 3, invoiceAddress, 0n)
    const belowMinimum = await chain.pay(chain.tokens.usdt, 3, invoiceAddress, 9_999n)
    const atMinimum = await chain.pay(chain.tokens.usdt, 3, invoiceAddress, 10_000n)
    const nativeHash = await chain.rpc<Hex>('eth_sendTransaction', [
      { from: chain.account(3).address, to: invoiceAddress, value: '0xde0b6b3a7640000' },
    ])
    await settle()
    await chain.mine(4)
    await settle()
    expect(await paymentOf(nativeHash)).toMatchObject({
      status: 'unsupported',
      asset_id: null,
      amount: '1000000000000000000',
    })
    expect(await paymentOf(unsupported.transactionHash)).toMatchObject({
      status: 'unsupported',
      asset_id: null,
    })
    expect((await paymentOf(zero.transactionHash))?.status).toBe('dust')
    expect((await paymentOf(belowMinimum.transactionHash))?.status).toBe('dust')
    expect((await paymentOf(atMinimum.transactionHash))?.status).toBe('finalized')
  })

  it('holds a deposit from a sanctioned sender instead of crediting it', async () => {
    const before = await customerBalance('USDT@testnet')
    const receipt = await chain.pay(chain.tokens.usdt, sanctionedSenderIndex, customerAddress, 1_000_000n)
    await chain.mine(4)
    await settle()
    expect(await paymentOf(receipt.transactionHash)).toMatchObject({ status: 'held', final: true })
    expect(await customerBalance('USDT@testnet')).toBe(before)
    expect(await eventTypesOf(receipt.transactionHash)).toEqual(['payment.held'])
  })

  it('orphans a deposit removed by a reorg before finality, and credits it once when re-included', async () => {
    const before = await customerBalance('USDT@testnet')
    const raw = await chain.signPayment(chain.tokens.usdt, 4, customerAddress, 7_000_000n)
    await chain.mine(1) // keeps the mint below the reorg: only the payment's block is replaced
    const txHash = await chain.rpc<Hex>('eth_sendRawTransaction', [raw])
    await chain.publicClient.waitForTransactionReceipt({ hash: txHash }) // automine mines asynchronously
    await settle()
    expect((await paymentOf(txHash))?.status).toBe('detected')
    await chain.rpc('anvil_reorg', [1, []])
    await settle()
    expect((await paymentOf(txHash))?.status).toBe('orphaned')
    await chain.mine(6)
    await settle()
    expect((await paymentOf(txHash))?.status).toBe('orphaned')
    expect(await customerBalance('USDT@testnet')).toBe(before)
    await chain.rpc('anvil_reorg', [1, [[raw, 0]]])
    await chain.mine(4)
    await settle()
    expect((await paymentOf(txHash))?.status).toBe('finalized')
    expect(await customerBalance('USDT@testnet')).toBe(before + 7_000_000n)
    expect(await eventTypesOf(txHash)).toEqual([
      'payment.initiated',
      'payment.orphaned',
      'payment.initiated',
      'payment.finalized',
    ])
  })

  it('lets one watcher per network scan: a second one stands by while the lease is held', async () => {
    const second = new ChainWatcher({
      pool: database.pool,
      network,
      logger: createLogger('silent'),
      workerId: 'second-worker',
    })
    expect(await second.tick()).toBe('standby')
  })

  // Last: it halts the network for good.
  it('halts crediting, loudly, when a reorg replaces a block already seen final', async () => {
    const before = await customerBalance('USDT@testnet')
    const final = await chain.pay(chain.tokens.usdt, 5, customerAddress, 2_000_000n)
    await chain.mine(4)
    await settle()
    expect((await paymentOf(final.transactionHash))?.status).toBe('finalized')
    await chain.rpc('anvil_reorg', [8, []])
    await settle()
    const cursor = await database.pool.query<{ halted_reason: string | null }>(
      "select halted_reason from chain_cursors where network = 'testnet'",
    )
    expect(cursor.rows[0]?.halted_reason).toMatch(/reorg from block \d+ reached a block we had seen final/)
    expect((await paymentOf(final.transactionHash))?.status).toBe('finalized') // never reversed automatically
    const later = await chain.pay(chain.tokens.usdt, 6, customerAddress, 3_000_000n)
    await chain.mine(6)
    await settle()
    expect((await paymentOf(later.transactionHash))?.status).toBe('confirmed')
    expect(await customerBalance('USDT@testnet')).toBe(before + 2_000_000n)
  })
})
