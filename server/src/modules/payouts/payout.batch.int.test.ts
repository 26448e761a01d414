import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, createWalletClient, getAddress, type Hex, http, parseAbi, parseAbiItem } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestChain, type TestChain } from '../../../test/setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { createPayoutRunner } from '../../jobs/send-payouts.ts'
import { createLogger } from '../../lib/logger.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'
import {
  createTransfer,
  getAccountBalance,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../ledger/ledger.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { importSanctionLists } from '../sanctions/sanction.service.ts'
import { getGatewayHotWalletAddress, recordGasStationFunding } from '../sweeps/sweep.service.ts'
import { updatePayoutSettings } from './payout.book.ts'
import {
  approvePolicy,
  cancelPayout,
  createPayout,
  createPayoutBatch,
  decidePayout,
  enrolApprover,
  getPayout,
  proposePolicy,
} from './payout.service.ts'
import { totpAt } from './payout.totp.ts'
import type { Payout } from './payout.types.ts'

// Batch payouts through BatchTransfer and canary payouts, on anvil with PostgreSQL
// (docs/adr/0015-batch-and-canary-payouts.md). Every claim about the chain is read back from its logs.
const networkName = 'testnet'
const finalityDepth = 2
const usdt = (whole: bigint) => whole * 10n ** 6n
const silent = createLogger('silent')
const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')
const usdtAdmin = parseAbi(['function addBlackList(address user)', 'function pause()', 'function unpause()'])

let database: TestDatabase
let chain: TestChain
let network: NetworkConfig
let provider: MasterKeyProvider
let merchantId: string
let hotWallet: Address
let sanctioned: Address
let clock = new Date()
const now = () => clock
let run: ReturnType<typeof createPayoutRunner>
const context = () => ({ networks: [network], now })
const newDestination = (): Address => getAddress(privateKeyToAddress(`0x${randomBytes(32).toString('hex')}`))

async function available(): Promise<bigint> {
  const account = await getOrCreateAccount(database.pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId: `USDT@${networkName}`,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  return (await getAccountBalance(database.pool, account.id)).available
}

async function fund(amount: bigint): Promise<void> {
  const assetId = `USDT@${networkName}`
  const merchant = await getOrCreateAccount(database.pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  const hot = await getOrCreateSystemAccount(database.pool, 'hot-wallet', assetId)
  await createTransfer(database.pool, {
    kind: 'single',
    id: `fund:${randomBytes(4).toString('hex')}`,
    debitAccountId: hot.id,
    creditAccountId: merchant.id,
    assetId,
    amount,
    code: 'test-funding',
  })
  await chain.mint(chain.tokens.usdt, hotWallet, amount)
}

async function owner(functionName: 'addBlackList' | 'pause' | 'unpause', args: readonly Address[] = []) {
  const wallet = createWalletClient({ account: chain.account(0), transport: http(chain.anvil.rpcUrl) })
  return await wallet.writeContract({
    chain: null,
    address: chain.tokens.usdt,
    abi: usdtAdmin,
    functionName,
    args: args as never,
  })
}

async function batch(items: readonly { to: Address; amount: string }[]): Promise<Payout[]> {
  return await withTransaction(database.pool, (client) =>
    createPayoutBatch(
      client,
      {
        merchantId,
        apiKeyId: 'key_initiator',
        items: items.map((item) => ({
          network: networkName,
          asset: 'USDT',
          destination: item.to,
          amount: item.amount,
        })),
      },
      context(),
    ),
  )
}

async function single(to: Address, amount: string): Promise<Payout> {
  return await withTransaction(database.pool, (client) =>
    createPayout(
      client,
      { merchantId, apiKeyId: 'key_initiator', network: networkName, asset: 'USDT', destination: to, amount },
      context(),
    ),
  )
}

async function transfersTo(to: Address) {
  return await chain.publicClient.getLogs({
    address: chain.tokens.usdt,
    event: transferEvent,
    args: { to },
    fromBlock: 0n,
  })
}

const terminal = ['finalized', 'failed', 'blocked', 'cancelled']

/** Ticks and mines until every payout is terminal. */
async function settleAll(ids: readonly string[], runner = run): Promise<Payout[]> {
  for (let index = 0; index < 15; index += 1) {
    await runner(networkName)
    const payouts = await Promise.all(ids.map((id) => getPayout(database.pool, merchantId, id)))
    if (payouts.every((payout) => terminal.includes(payout.status))) return payouts
    await chain.mine(finalityDepth + 1)
  }
  return await Promise.all(ids.map((id) => getPayout(database.pool, merchantId, id)))
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; details: { path: string }[] }> {
  try {
    await promise
  } catch (error) {
    return error as { code: string; details: { path: string }[] }
  }
  throw new Error('expected a refusal')
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  merchantId = (await createMerchant(database.pool, { name: 'Batch Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  sanctioned = newDestination()
  const listDirectory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(listDirectory, 0o755)
  const file = join(listDirectory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(file, `${sanctioned}\n`)
  await importSanctionLists(database.pool, [file])
  network = {
    name: networkName,
    kind: 'evm',
    chainId: 31_337,
    rpcUrls: [chain.anvil.rpcUrl],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: finalityDepth },
    tokens: [{ symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 }],
    batchTransferAddress: chain.batchTransfer,
  }
  hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  const gas = 100n * 10n ** 18n
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
  await recordGasStationFunding(database.pool, networkName, gas, 'devnet-initial')
  await fund(usdt(1_000_000n))
  run = createPayoutRunner({
    pool: database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: provider,
    now,
  })
  const proposer = await enrolApprover(database.pool, { merchantId, name: 'Proposer', roles: ['admin'] })
  const approver = await enrolApprover(database.pool, { merchantId, name: 'Checker', roles: ['approver'] })
  const version = await proposePolicy(database.pool, {
    merchantId,
    proposedBy: proposer.approver.id,
    policy: { rules: [], default_action: { kind: 'allow' } },
  })
  await approvePolicy(
    database.pool,
    {
      merchantId,
      version,
      approverId: approver.approver.id,
      totpCode: totpAt(approver.totpSecret, BigInt(clock.getTime()) / 1000n),
    },
    clock,
  )
  // Canaries are tested on their own below; the batch tests pay amounts under this threshold.
  await updatePayoutSettings(database.pool, {
    merchantId,
    actor: 'test',
    change: { canaryThreshold: '100', canaryAmount: '1' },
  })
}, 120_000)

afterAll(async () => {
  await chain?.stop()
  await database?.drop()
})

describe('batch requests', () => {
  it('refuse the whole request when one item is bad, naming the item in the path', async () => {
    const before = await available()
    const bad = await refusal(
      batch([
        { to: newDestination(), amount: '1' },
        { to: newDestination().toLowerCase() as Address, amount: '1' },
      ]),
    )
    expect(bad.code).toBe('destination-invalid')
    expect(bad.details[0]?.path).toBe('body.items.1.destination')
    const short = await refusal(
      batch([
        { to: newDestination(), amount: '1' },
        { to: newDestination(), amount: '9999999' },
      ]),
    )
    expect(short.code).toBe('payout-exceeds-balance')
    expect(short.details[0]?.path).toBe('body.items.1')
    expect(await available()).toBe(before)
  })
})

describe('batch payouts through BatchTransfer', () => {
  it('pays 200 payouts in one transaction: 200 Transfer events, one nonce, ledger exact', async () => {
    const before = await available()
    const items = Array.from({ length: 200 }, (_, index) => ({
      to: newDestination(),
      amount: `${1 + (index % 7)}`,
    }))
    const payouts = await batch(items)
    expect(payouts.every((payout) => payout.status === 'queued')).toBe(true)
    let total = 0n
    for (const payout of payouts) total += payout.amount
    expect(await available()).toBe(before - total)
    const settled = await settleAll(payouts.map((payout) => payout.id))
    expect(settled.map((payout) => payout.status)).toEqual(payouts.map(() => 'finalized'))
    const batchIds = new Set(settled.map((payout) => payout.batchId))
    expect(batchIds.size).toBe(1)
    const fromContract = await chain.publicClient.getLogs({
      address: chain.tokens.usdt,
      event: transferEvent,
      args: { from: chain.batchTransfer },
      fromBlock: 0n,
    })
    const hashes = new Set(fromContract.map((log) => log.transactionHash))
    expect(fromContract.length).toBe(200)
    expect(hashes.size).toBe(1)
    expect(settled.every((payout) => payout.minedHash === [...hashes][0])).toBe(true)
    for (const [index, item] of items.entries()) {
      const logs = fromContract.filter((log) => log.args.to === item.to)
      expect(logs.length).toBe(1)
      expect(logs[0]?.args.value).toBe(payouts[index]?.amount)
    }
    // Each item has its own events: one payout.sent (with the batch's hash) and one payout.received.
    const events = await database.pool.query<{ type: string; n: number }>(
      'select type, count(*)::int as n from events where subject_id = any($1) group by type order by type',
      [payouts.map((payout) => payout.id)],
    )
    expect(events.rows).toEqual([
      { type: 'payout.received', n: 200 },
      { type: 'payout.sent', n: 200 },
    ])
    // The ledger: reservations posted (available stays down), the gas of approve + batch booked exactly.
    expect(await available()).toBe(before - total)
    const fee = await getOrCreateSystemAccount(database.pool, 'network-fee-expense', `ETH@${networkName}`)
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: [...hashes][0] as Hex })
    const approval = await database.pool.query<{ gas_used: string; effective_gas_price: string }>(
      "select gas_used, effective_gas_price from payout_batches where kind = 'approve'",
    )
    const approvalFee =
      BigInt(approval.rows[0]?.gas_used ?? '0') * BigInt(approval.rows[0]?.effective_gas_price ?? '0')
    expect((await getAccountBalance(database.pool, fee.id)).posted).toBe(
      receipt.gasUsed * receipt.effectiveGasPrice + approvalFee,
    )
    // The cost KPI: each item keeps its share of the batch's gas; the shares add up to the receipt's.
    const shares = await database.pool.query<{ wei: string }>(
      'select network_fee_wei::text as wei from payouts where id = any($1)',
      [payouts.map((payout) => payout.id)],
    )
    expect(shares.rows.reduce((sum, row) => sum + BigInt(row.wei), 0n)).toBe(
      receipt.gasUsed * receipt.effectiveGasPrice,
    )
    const nonce = await database.pool.query('select next_nonce from hot_wallet_nonces where address = $1', [
      hotWallet,
    ])
    expect(BigInt(nonce.rows[0].next_nonce)).toBe(
      BigInt(await chain.publicClient.getTransactionCount({ address: hotWallet })),
    )
  }, 120_000)

  it('a blacklisted or sanctioned destination fails alone; the rest go in one batch', async () => {
    const blacklisted = newDestination()
    await chain.publicClient.waitForTransactionReceipt({ hash: await owner('addBlackList', [blacklisted]) })
    const before = await available()
    const good = [newDestination(), newDestination(), newDestination()]
    const payouts = await batch([
      { to: good[0] as Address, amount: '2' },
      { to: blacklisted, amount: '3' },
      { to: good[1] as Address, amount: '4' },
      { to: sanctioned, amount: '5' },
      { to: good[2] as Address, amount: '6' },
    ])
    expect(payouts[3]).toMatchObject({ status: 'blocked', error: 'destination-sanctioned' })
    const settled = await settleAll(payouts.map((payout) => payout.id))
    expect(settled.map((payout) => payout.status)).toEqual([
      'finalized',
      'failed',
      'finalized',
      'blocked',
      'finalized',
    ])
    expect(settled[1]?.error).toMatch(/^destination-blacklisted/)
    expect(settled[1]?.batchId).toBeNull()
    expect(new Set([settled[0], settled[2], settled[4]].map((payout) => payout?.batchId)).size).toBe(1)
    expect(await transfersTo(blacklisted)).toHaveLength(0)
    for (const to of good) expect(await transfersTo(to)).toHaveLength(1)
    expect(await available()).toBe(before - usdt(12n))
  })

  it.each(['beforeBroadcast', 'afterBroadcast'] as const)(
    'a crash at %s leaves exactly one batch on chain after restart',
    async (point) => {
      const destinations = [newDestination(), newDestination(), newDestination()]
      const payouts = await batch(destinations.map((to) => ({ to, amount: '7' })))
      const crashing = createPayoutRunner({
        pool: database.pool,
        logger: silent,
        networks: [network],
        masterKeyProvider: provider,
        now,
        faults: {
          [point]: () => {
            throw new Error(`killed at ${point}`)
          },
        },
      })
      await expect(crashing(networkName)).rejects.toThrow(/killed/)
      const signed = await Promise.all(
        payouts.map((payout) => getPayout(database.pool, merchantId, payout.id)),
      )
      expect(signed.map((payout) => payout.status)).toEqual(['broadcast', 'broadcast', 'broadcast'])
      const settled = await settleAll(payouts.map((payout) => payout.id))
      expect(settled.map((payout) => payout.status)).toEqual(['finalized', 'finalized', 'finalized'])
      await chain.mine(finalityDepth + 1)
      await run(networkName)
      for (const to of destinations) expect(await transfersTo(to)).toHaveLength(1)
      const attempts = await database.pool.query(
        'select 1 from payout_batch_transactions where batch_id = $1',
        [settled[0]?.batchId],
      )
      expect(attempts.rowCount).toBe(1)
    },
  )

  it('a batch reorged out before finality is re-broadcast (same signed bytes): one batch on chain', async () => {
    const destinations = [newDestination(), newDestination()]
    const payouts = await batch(destinations.map((to) => ({ to, amount: '9' })))
    // Sign and broadcast, then see the receipt: two runs on a quiet machine; a loaded one may need more
    // (no block is mined meanwhile, so it cannot become final here).
    let included = await getPayout(database.pool, merchantId, payouts[0]?.id ?? '')
    for (let attempt = 0; attempt < 20 && included.status !== 'confirmed'; attempt += 1) {
      await run(networkName)
      included = await getPayout(database.pool, merchantId, payouts[0]?.id ?? '')
      if (included.status !== 'confirmed') await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(included.status).toBe('confirmed')
    const minedHash = included.minedHash as Hex
    const receiptBlock = (await chain.publicClient.getTransactionReceipt({ hash: minedHash })).blockNumber
    const head = await chain.publicClient.getBlockNumber()
    await chain.rpc('anvil_reorg', [Number(head - receiptBlock) + 1, []])
    for (const to of destinations) expect(await transfersTo(to)).toHaveLength(0)
    await run(networkName)
    const settled = await settleAll(payouts.map((payout) => payout.id))
    expect(settled.map((payout) => [payout.status, payout.minedHash])).toEqual([
      ['finalized', minedHash],
      ['finalized', minedHash],
    ])
    for (const to of destinations) expect(await transfersTo(to)).toHaveLength(1)
    const attempts = await database.pool.query(
      'select 1 from payout_batch_transactions where batch_id = $1',
      [settled[0]?.batchId],
    )
    expect(attempts.rowCount).toBe(1)
  })

  it('a stuck batch is replaced at the same nonce with higher fees; one of the two is mined', async () => {
    const destinations = [newDestination(), newDestination()]
    let payouts: Payout[] = []
    await chain.rpc('evm_setAutomine', [false])
    try {
      payouts = await batch(destinations.map((to) => ({ to, amount: '10' })))
      await chain.rpc('anvil_setNextBlockBaseFeePerGas', ['0x1'])
      await chain.mine(1)
      await run(networkName)
      // Priced out: the next blocks' base fee is far above what the first attempt offers.
      await chain.rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(10n ** 11n).toString(16)}`])
      await chain.mine(1)
      clock = new Date(clock.getTime() + 120_000)
      await run(networkName)
      const attempts = (
        await database.pool.query<{ nonce: string }>(
          `select t.nonce from payout_batch_transactions t join payouts p on p.batch_id = t.batch_id
           where p.id = $1 order by t.attempt`,
          [payouts[0]?.id],
        )
      ).rows
      expect(attempts.length).toBe(2)
      expect(attempts[0]?.nonce).toBe(attempts[1]?.nonce)
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await chain.mine(1)
    const settled = await settleAll(payouts.map((payout) => payout.id))
    expect(settled.map((payout) => payout.status)).toEqual(['finalized', 'finalized'])
    for (const to of destinations) expect(await transfersTo(to)).toHaveLength(1)
  })

  it('a batch that reverts on chain fails all its items: reservations voided, gas booked', async () => {
    const before = await available()
    const destinations = [newDestination(), newDestination()]
    await chain.rpc('evm_setAutomine', [false])
    let payouts: Payout[] = []
    try {
      payouts = await batch(destinations.map((to) => ({ to, amount: '8' })))
      await run(networkName)
      const [row] = (
        await database.pool.query<{ tx_hash: Hex }>(
          `select t.tx_hash from payout_batch_transactions t join payouts p on p.batch_id = t.batch_id
           where p.id = $1`,
          [payouts[0]?.id],
        )
      ).rows
      // The signed batch leaves the pool, the token is paused, then the stored bytes come back: they revert.
      await chain.rpc('anvil_dropTransaction', [row?.tx_hash])
      await owner('pause')
      await chain.mine(1)
      await run(networkName)
      await chain.mine(1)
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await owner('unpause')
    const settled = await settleAll(payouts.map((payout) => payout.id))
    expect(settled.map((payout) => payout.status)).toEqual(['failed', 'failed'])
    expect(settled[0]?.error).toBe('batch transaction reverted on chain; nothing was paid')
    expect(await available()).toBe(before)
    for (const to of destinations) expect(await transfersTo(to)).toHaveLength(0)
    const booked = await database.pool.query(
      "select count(*)::int as n from ledger_transfers where code = 'network-fee' and metadata->>'payout_id' = any($1)",
      [payouts.map((payout) => payout.id)],
    )
    expect(booked.rows[0]?.n).toBe(2)
  })
})

describe('canary payouts', () => {
  it('at the threshold: no canary, one transfer', async () => {
    const to = newDestination()
    const payout = await single(to, '100')
    expect(payout).toMatchObject({ canaryPayoutId: null, amount: usdt(100n) })
    expect((await settleAll([payout.id]))[0]?.status).toBe('finalized')
    expect(await transfersTo(to)).toHaveLength(1)
  })

  it('above it: a canary first, the remainder only after the canary is final; the ledger stays exact', async () => {
    const before = await available()
    const to = newDestination()
    const parent = await single(to, '150')
    expect(parent.amount).toBe(usdt(149n))
    const canaryId = parent.canaryPayoutId as string
    const canary = await getPayout(database.pool, merchantId, canaryId)
    expect(canary).toMatchObject({ amount: usdt(1n), parentPayoutId: parent.id, status: 'queued' })
    expect(await available()).toBe(before - usdt(150n))
    await run(networkName)
    expect((await getPayout(database.pool, merchantId, canaryId)).status).toBe('broadcast')
    expect(await getPayout(database.pool, merchantId, parent.id)).toMatchObject({
      status: 'queued',
      error: `waiting for canary payout ${canaryId} to be final`,
    })
    const [finalCanary, finalParent] = await settleAll([canaryId, parent.id])
    expect([finalCanary?.status, finalParent?.status]).toEqual(['finalized', 'finalized'])
    const logs = await transfersTo(to)
    expect(logs.map((log) => log.args.value)).toEqual([usdt(1n), usdt(149n)])
    expect((logs[0]?.blockNumber ?? 0n) < (logs[1]?.blockNumber ?? 0n)).toBe(true)
    expect(await available()).toBe(before - usdt(150n))
    // Paid before: the next large payout to it needs no canary.
    const again = await single(to, '150')
    expect(again).toMatchObject({ canaryPayoutId: null, amount: usdt(150n) })
    await cancelPayout(database.pool, { merchantId, id: again.id, apiKeyId: 'k' })
  })

  it('a canary waits for its payout’s approval; the remainder still waits for the canary', async () => {
    const proposer = await enrolApprover(database.pool, { merchantId, name: 'P2', roles: ['admin'] })
    const checker = await enrolApprover(database.pool, { merchantId, name: 'C2', roles: ['approver'] })
    const step = () => {
      clock = new Date(clock.getTime() + 30_000)
      return totpAt(checker.totpSecret, BigInt(clock.getTime()) / 1000n)
    }
    const version = await proposePolicy(database.pool, {
      merchantId,
      proposedBy: proposer.approver.id,
      policy: {
        rules: [
          {
            id: 'big-needs-one',
            match: { amount: { min: '500' } },
            action: { kind: 'require_approval', approvals: 1, role: 'approver' },
          },
        ],
        default_action: { kind: 'allow' },
      },
    })
    await approvePolicy(
      database.pool,
      { merchantId, version, approverId: checker.approver.id, totpCode: step() },
      clock,
    )
    const to = newDestination()
    const parent = await single(to, '600')
    expect(parent).toMatchObject({ status: 'pending_approval', ruleId: 'big-needs-one', amount: usdt(599n) })
    const canaryId = parent.canaryPayoutId as string
    await run(networkName)
    expect(await getPayout(database.pool, merchantId, canaryId)).toMatchObject({
      status: 'queued',
      error: 'canary waits for its payout’s approval or delay',
    })
    expect(await transfersTo(to)).toHaveLength(0)
    const approved = await decidePayout(
      database.pool,
      {
        merchantId,
        id: parent.id,
        apiKeyId: 'key_checker',
        approverId: checker.approver.id,
        totpCode: step(),
        revision: parent.revision,
        decision: 'approve',
      },
      clock,
    )
    expect(approved.status).toBe('queued')
    const [finalCanary, finalParent] = await settleAll([canaryId, parent.id])
    expect([finalCanary?.status, finalParent?.status]).toEqual(['finalized', 'finalized'])
    expect((await transfersTo(to)).map((log) => log.args.value)).toEqual([usdt(1n), usdt(599n)])
  })

  it('a cancelled canary fails its payout before signing; cancelling the payout cancels its canary', async () => {
    const before = await available()
    const parent = await single(newDestination(), '200')
    await cancelPayout(database.pool, { merchantId, id: parent.canaryPayoutId as string, apiKeyId: 'k' })
    const [failed] = await settleAll([parent.id])
    expect(failed).toMatchObject({ status: 'failed' })
    expect(failed?.error).toMatch(/canary payout .* cancelled; the remainder is not sent/)
    const other = await single(newDestination(), '200')
    await cancelPayout(database.pool, { merchantId, id: other.id, apiKeyId: 'k' })
    expect((await getPayout(database.pool, merchantId, other.canaryPayoutId as string)).status).toBe(
      'cancelled',
    )
    expect(await available()).toBe(before)
  })
})
