import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hex,
  parseAbi,
  parseAbiItem,
} from 'viem'
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
  getTransfer,
} from '../ledger/ledger.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { importSanctionLists } from '../sanctions/sanction.service.ts'
import { getGatewayHotWalletAddress, recordGasStationFunding } from '../sweeps/sweep.service.ts'
import { selectWindowUsage } from './payout.repo.ts'
import {
  approvePolicy,
  cancelPayout,
  createPayout,
  decidePayout,
  enrolApprover,
  getPayout,
  listPayoutAudit,
  proposePolicy,
  setPanic,
} from './payout.service.ts'
import { totpAt } from './payout.totp.ts'
import type { Payout } from './payout.types.ts'

// Payouts on a real anvil chain into a real PostgreSQL: policy, approvals, panic switch, and the
// transaction manager under faults (crash between sign and broadcast, dropped and stuck transactions).
const networkName = 'testnet'
const finalityDepth = 2
const usdt = (whole: bigint) => whole * 10n ** 6n
const silent = createLogger('silent')
const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')
const usdcAdmin = parseAbi(['function blacklist(address account)'])

let database: TestDatabase
let chain: TestChain
let network: NetworkConfig
let provider: MasterKeyProvider
let merchantId: string
let hotWallet: Address
let clock = new Date()
const now = () => clock
let run: ReturnType<typeof createPayoutRunner>
let sanctioned: Address

const context = () => ({ networks: [network], now })
const destination = (index: number) => getAddress(chain.account(index).address)

async function available(assetId: string): Promise<bigint> {
  const account = await getOrCreateAccount(database.pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  return (await getAccountBalance(database.pool, account.id)).available
}

/** Credits the store's available balance and puts the same tokens in the hot wallet. */
async function fund(token: Address, symbol: string, amount: bigint): Promise<void> {
  const assetId = `${symbol}@${networkName}`
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
  await chain.mint(token, hotWallet, amount)
}

async function request(input: {
  to: Address
  amount: string
  asset?: string
  apiKeyId?: string
}): Promise<Payout> {
  return await withTransaction(database.pool, (client) =>
    createPayout(
      client,
      {
        merchantId,
        apiKeyId: input.apiKeyId ?? 'key_initiator',
        network: networkName,
        asset: input.asset ?? 'USDT',
        destination: input.to,
        amount: input.amount,
      },
      context(),
    ),
  )
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return (error as { code: string }).code
  }
  throw new Error('expected a refusal')
}

async function transfersTo(token: Address, to: Address): Promise<number> {
  const logs = await chain.publicClient.getLogs({
    address: token,
    event: transferEvent,
    args: { to },
    fromBlock: 0n,
  })
  return logs.length
}

/** Ticks and mines until the payout is final (or terminal). */
async function settle(id: string, runner = run): Promise<Payout> {
  for (let index = 0; index < 10; index += 1) {
    await runner(networkName)
    const payout = await getPayout(database.pool, merchantId, id)
    if (['finalized', 'failed', 'blocked', 'cancelled'].includes(payout.status)) return payout
    await chain.mine(finalityDepth + 1)
  }
  return await getPayout(database.pool, merchantId, id)
}

async function allowAll(): Promise<void> {
  const proposer = await enrolApprover(database.pool, { merchantId, name: 'Proposer', roles: ['admin'] })
  const approver = await enrolApprover(database.pool, { merchantId, name: 'Checker', roles: ['approver'] })
  const version = await proposePolicy(database.pool, {
    merchantId,
    proposedBy: proposer.approver.id,
    policy: {
      rules: [
        {
          id: 'treasurers-not-77',
          match: { initiator: { roles: ['treasurer'] }, amount: { min: '77', max: '77' } },
          action: { kind: 'block', reason: 'treasurers may not send 77' },
        },
        {
          id: 'big-needs-two',
          match: { amount: { min: '1000' } },
          action: { kind: 'require_approval', approvals: 2, role: 'approver' },
        },
        {
          id: 'mid-needs-one',
          match: { amount: { min: '100' } },
          action: { kind: 'require_approval', approvals: 1, role: 'approver' },
        },
        {
          id: 'delay-50',
          match: { amount: { min: '50', max: '50' } },
          action: { kind: 'delay', seconds: 600 },
        },
        {
          id: 'block-bsc',
          match: { assets: [`BSC-USD@${networkName}`] },
          action: { kind: 'block', reason: 'no BSC-USD payouts' },
        },
      ],
      default_action: { kind: 'allow' },
    },
  })
  const code = totpAt(approver.totpSecret, BigInt(clock.getTime()) / 1000n)
  await approvePolicy(
    database.pool,
    { merchantId, version, approverId: approver.approver.id, totpCode: code },
    clock,
  )
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  merchantId = (await createMerchant(database.pool, { name: 'Payout Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  sanctioned = destination(9)
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
    tokens: [
      { symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 },
      { symbol: 'BSC-USD', contractAddress: chain.tokens.bscUsd, decimals: 18 },
      { symbol: 'USDC', contractAddress: chain.tokens.usdc, decimals: 6 },
    ],
  }
  hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  const gas = 10n * 10n ** 18n
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
  await recordGasStationFunding(database.pool, networkName, gas, 'devnet-initial')
  await fund(chain.tokens.usdt, 'USDT', usdt(100_000n))
  await fund(chain.tokens.usdc, 'USDC', usdt(1_000n))
  run = createPayoutRunner({
    pool: database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: provider,
    now,
    // Prices gas for the cost KPI: USDT has a rate, USDC deliberately none.
    rates: { ETH: { USDT: '2500' } },
  })
  await allowAll()
})

afterAll(async () => {
  await chain?.stop()
  await database?.drop()
})

describe('requests', () => {
  it('refuses foreign and unchecksummed destinations', async () => {
    for (const to of ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', destination(1).toLowerCase()])
      expect(await refusal(request({ to: to as Address, amount: '1' }))).toBe('destination-invalid')
  })

  it('reserves the amount at request time; more than available is refused', async () => {
    const before = await available(`USDT@${networkName}`)
    const payout = await request({ to: destination(1), amount: '150' })
    expect(payout.status).toBe('pending_approval')
    expect(await available(`USDT@${networkName}`)).toBe(before - usdt(150n))
    expect(await refusal(request({ to: destination(1), amount: '1000000' }))).toBe('payout-exceeds-balance')
    const cancelled = await cancelPayout(database.pool, {
      merchantId,
      id: payout.id,
      apiKeyId: 'key_initiator',
    })
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.revision).toBeGreaterThan(payout.revision)
    expect(await available(`USDT@${networkName}`)).toBe(before)
  })

  it('blocks a sanctioned destination before signing and voids the reservation', async () => {
    const before = await available(`USDT@${networkName}`)
    const payout = await request({ to: sanctioned, amount: '5' })
    expect(payout).toMatchObject({ status: 'blocked', error: 'destination-sanctioned' })
    expect(await available(`USDT@${networkName}`)).toBe(before)
    expect(await transfersTo(chain.tokens.usdt, sanctioned)).toBe(0)
  })

  it('applies the policy: block rule, delay rule (cancellable)', async () => {
    await fund(chain.tokens.bscUsd, 'BSC-USD', 10n ** 20n)
    const blocked = await request({ to: destination(1), amount: '1', asset: 'BSC-USD' })
    expect(blocked).toMatchObject({ status: 'blocked', ruleId: 'block-bsc' })
    const delayed = await request({ to: destination(1), amount: '50' })
    expect(delayed).toMatchObject({ status: 'delayed', ruleId: 'delay-50' })
    await run(networkName)
    expect((await getPayout(database.pool, merchantId, delayed.id)).status).toBe('delayed')
    expect((await cancelPayout(database.pool, { merchantId, id: delayed.id, apiKeyId: 'k' })).status).toBe(
      'cancelled',
    )
  })
})

describe('approvals', () => {
  it('the initiator cannot approve; a stale revision is 409; a bad TOTP is refused; two distinct approvers', async () => {
    const first = await enrolApprover(database.pool, {
      merchantId,
      name: 'A',
      roles: ['approver'],
      apiKeyId: 'key_a',
    })
    const second = await enrolApprover(database.pool, {
      merchantId,
      name: 'B',
      roles: ['approver'],
      apiKeyId: 'key_b',
    })
    const initiatorPerson = await enrolApprover(database.pool, {
      merchantId,
      name: 'I',
      roles: ['approver'],
      apiKeyId: 'key_initiator',
    })
    const payout = await request({ to: destination(2), amount: '1000' })
    expect(payout).toMatchObject({ status: 'pending_approval', approvalsRequired: 2 })
    const decide = (who: typeof first, apiKeyId: string, revision: number, code?: string) =>
      decidePayout(
        database.pool,
        {
          merchantId,
          id: payout.id,
          apiKeyId,
          approverId: who.approver.id,
          totpCode: code ?? totpAt(who.totpSecret, BigInt(clock.getTime()) / 1000n),
          revision,
          decision: 'approve',
        },
        clock,
      )
    expect(await refusal(decide(initiatorPerson, 'key_x', payout.revision))).toBe('approver-not-eligible')
    expect(await refusal(decide(first, 'key_initiator', payout.revision))).toBe('approver-not-eligible')
    expect(await refusal(decide(first, 'key_a', payout.revision - 1))).toBe('payout-old-revision')
    expect(await refusal(decide(first, 'key_a', payout.revision, '000000'))).toBe('approval-totp-invalid')
    clock = new Date(clock.getTime() + 30_000)
    const once = await decide(first, 'key_a', payout.revision)
    expect(once.status).toBe('pending_approval')
    expect(await refusal(decide(first, 'key_a', once.revision))).toBe('approval-totp-invalid')
    const twice = await decide(second, 'key_b', once.revision)
    expect(twice.status).toBe('queued')
    const audit = (await listPayoutAudit(database.pool, payout.id)).map((entry) => entry.action)
    expect(audit).toEqual(['payout.requested', 'payout.policy-decision', 'payout.approve', 'payout.approve'])
    expect((await settle(payout.id)).status).toBe('finalized')
  })
})

describe('who initiated', () => {
  it('matches a person’s own roles (dashboard: the approver id is the key), an API key as initiator', async () => {
    const treasurer = await enrolApprover(database.pool, { merchantId, name: 'T', roles: ['treasurer'] })
    const byPerson = await request({ to: destination(4), amount: '77', apiKeyId: treasurer.approver.id })
    expect(byPerson).toMatchObject({ status: 'blocked', ruleId: 'treasurers-not-77' })
    const byKey = await request({ to: destination(4), amount: '77' })
    expect(byKey.ruleId).toBeNull()
    expect(byKey.status).toBe('queued')
    await cancelPayout(database.pool, { merchantId, id: byKey.id, apiKeyId: 'key_initiator' })
  })
})

describe('rolling windows', () => {
  it('adds up every store’s payouts in an `all` window, one store’s in a `store` window', async () => {
    const since = new Date(now().getTime() - 3_600_000)
    const other = (await createMerchant(database.pool, { name: 'Other Store' })).merchant.id
    const assetId = `USDT@${networkName}`
    const otherAvailable = await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: other,
      purpose: 'available',
      assetId,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    await createTransfer(database.pool, {
      kind: 'single',
      id: `fund-other:${randomBytes(4).toString('hex')}`,
      debitAccountId: (await getOrCreateSystemAccount(database.pool, 'hot-wallet', assetId)).id,
      creditAccountId: otherAvailable.id,
      assetId,
      amount: usdt(10n),
      code: 'test-funding',
    })
    const theirs = await withTransaction(database.pool, (client) =>
      createPayout(
        client,
        {
          merchantId: other,
          apiKeyId: 'key_other',
          network: networkName,
          asset: 'USDT',
          destination: destination(5),
          amount: '5',
        },
        context(),
      ),
    )
    const all = await selectWindowUsage(database.pool, { merchantId: null, since })
    const ours = await selectWindowUsage(database.pool, { merchantId, since })
    const theirsOnly = await selectWindowUsage(database.pool, { merchantId: other, since })
    expect(theirsOnly).toEqual({ amount: 5n * 10n ** 18n, count: 1 })
    expect(all).toEqual({ amount: ours.amount + theirsOnly.amount, count: ours.count + theirsOnly.count })
    await cancelPayout(database.pool, { merchantId: other, id: theirs.id, apiKeyId: 'key_other' })
  })
})

describe('transaction manager', () => {
  it('sends, waits for finality, and books post, send and gas', async () => {
    const to = destination(3)
    const payout = await request({ to, amount: '10' })
    expect(payout.status).toBe('queued')
    const final = await settle(payout.id)
    expect(final.status).toBe('finalized')
    expect(await transfersTo(chain.tokens.usdt, to)).toBe(1)
    const fee = await getOrCreateSystemAccount(database.pool, 'network-fee-expense', `ETH@${networkName}`)
    expect((await getAccountBalance(database.pool, fee.id)).posted).toBeGreaterThan(0n)
    // The cost KPI: the gas as booked, and the same in USDT at the configured 2,500 USDT per ETH.
    const booked = (await getTransfer(database.pool, `payout-fee:${payout.id}`))?.amount ?? -1n
    expect(booked).toBeGreaterThan(0n)
    expect(final.networkFee).toEqual({
      wei: booked,
      inAssetMinor: (booked * 2500n * 10n ** 6n) / 10n ** 18n,
      rate: '2500',
    })
    const nonce = await database.pool.query('select next_nonce from hot_wallet_nonces where address = $1', [
      hotWallet,
    ])
    expect(BigInt(nonce.rows[0].next_nonce)).toBe(
      BigInt(await chain.publicClient.getTransactionCount({ address: hotWallet })),
    )
  })

  it('the panic switch stops an approved payout before broadcast; release lets it go', async () => {
    const to = destination(4)
    const payout = await request({ to, amount: '11' })
    await setPanic(database.pool, { merchantId: '*', network: '*', engaged: true, changedBy: 'operator' })
    await run(networkName)
    expect(await getPayout(database.pool, merchantId, payout.id)).toMatchObject({
      status: 'queued',
      error: 'panic switch engaged; nothing is signed',
    })
    await setPanic(database.pool, { merchantId, network: networkName, engaged: true, changedBy: 'admin' })
    await setPanic(database.pool, { merchantId: '*', network: '*', engaged: false, changedBy: 'operator' })
    await run(networkName)
    expect((await getPayout(database.pool, merchantId, payout.id)).status).toBe('queued')
    await setPanic(database.pool, { merchantId, network: networkName, engaged: false, changedBy: 'admin' })
    expect((await settle(payout.id)).status).toBe('finalized')
    expect(await transfersTo(chain.tokens.usdt, to)).toBe(1)
  })

  it.each(['beforeBroadcast', 'afterBroadcast'] as const)(
    'a crash at %s leaves exactly one transfer after restart',
    async (point) => {
      const to = destination(point === 'beforeBroadcast' ? 5 : 6)
      const payout = await request({ to, amount: '12' })
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
      expect((await getPayout(database.pool, merchantId, payout.id)).status).toBe('broadcast')
      expect((await settle(payout.id)).status).toBe('finalized')
      await chain.mine(finalityDepth + 1)
      await run(networkName)
      expect(await transfersTo(chain.tokens.usdt, to)).toBe(1)
    },
  )

  it('a dropped transaction is broadcast again; a stuck one is replaced at the same nonce', async () => {
    await chain.rpc('evm_setAutomine', [false])
    try {
      const dropped = await request({ to: destination(7), amount: '13' })
      await run(networkName)
      const [first] = (
        await database.pool.query<{ tx_hash: Hex }>(
          'select tx_hash from payout_transactions where payout_id = $1',
          [dropped.id],
        )
      ).rows
      await chain.rpc('anvil_dropTransaction', [first?.tx_hash])
      await run(networkName)
      await chain.mine(1)
      expect((await chain.publicClient.getTransactionReceipt({ hash: first?.tx_hash as Hex })).status).toBe(
        'success',
      )

      const stuck = await request({ to: destination(8), amount: '14' })
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
          'select nonce from payout_transactions where payout_id = $1 order by attempt',
          [stuck.id],
        )
      ).rows
      expect(attempts.length).toBe(2)
      expect(attempts[0]?.nonce).toBe(attempts[1]?.nonce)
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await chain.mine(1)
    const stuckId =
      (
        await database.pool.query<{ id: string }>('select id from payouts where amount = $1', [
          usdt(14n).toString(),
        ])
      ).rows[0]?.id ?? ''
    expect((await settle(stuckId)).status).toBe('finalized')
    expect(await transfersTo(chain.tokens.usdt, destination(7))).toBe(1)
    expect(await transfersTo(chain.tokens.usdt, destination(8))).toBe(1)
  })

  it('a payout reorged out before finality is re-broadcast (same signed bytes): exactly one transfer', async () => {
    const to = destination(11)
    const payout = await request({ to, amount: '15' })
    await run(networkName)
    await run(networkName)
    const included = await getPayout(database.pool, merchantId, payout.id)
    expect(included.status).toBe('confirmed')
    const minedHash = included.minedHash as Hex
    const receiptBlock = (await chain.publicClient.getTransactionReceipt({ hash: minedHash })).blockNumber
    const head = await chain.publicClient.getBlockNumber()
    // Replace every block from the payout's onwards with empty ones: its receipt disappears.
    await chain.rpc('anvil_reorg', [Number(head - receiptBlock) + 1, []])
    await expect(chain.publicClient.getTransactionReceipt({ hash: minedHash })).rejects.toThrow()
    expect(await transfersTo(chain.tokens.usdt, to)).toBe(0)
    await run(networkName)
    expect(await getPayout(database.pool, merchantId, payout.id)).toMatchObject({
      status: 'confirmed',
      error: `receipt of ${minedHash} gone (reorg); re-broadcast`,
    })
    const final = await settle(payout.id)
    expect(final).toMatchObject({ status: 'finalized', minedHash })
    const attempts = await database.pool.query('select 1 from payout_transactions where payout_id = $1', [
      payout.id,
    ])
    expect(attempts.rowCount).toBe(1)
    expect(await transfersTo(chain.tokens.usdt, to)).toBe(1)
  })

  it('a destination the token blacklists fails with a clear reason and the reservation voided', async () => {
    const to = destination(10)
    const hash = await chain.publicClient.request({ method: 'eth_blockNumber' })
    expect(hash).toBeDefined()
    const { createWalletClient, http } = await import('viem')
    const owner = createWalletClient({ account: chain.account(0), transport: http(chain.anvil.rpcUrl) })
    const tx = await owner.writeContract({
      chain: null,
      address: chain.tokens.usdc,
      abi: usdcAdmin,
      functionName: 'blacklist',
      args: [to],
    })
    await chain.publicClient.waitForTransactionReceipt({ hash: tx })
    const before = await available(`USDC@${networkName}`)
    const payout = await request({ to, amount: '7', asset: 'USDC' })
    expect(await available(`USDC@${networkName}`)).toBe(before - usdt(7n))
    const failed = await settle(payout.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/token refused the transfer/)
    expect(await available(`USDC@${networkName}`)).toBe(before)
    // No USDC rate configured: a cost in USDC is unknown, never guessed.
    expect(failed.networkFee?.inAssetMinor ?? null).toBeNull()
    expect(failed.networkFee?.rate ?? null).toBeNull()
  })

  it('a payout waits while one signed before it, not mined yet, leaves the hot wallet short', async () => {
    // The hot wallet holds 60 USDC on chain, less than the ledger says (an operator moved some out).
    const held = await chain.publicClient.readContract({
      address: chain.tokens.usdc,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [hotWallet],
    })
    await chain.rpc('anvil_impersonateAccount', [hotWallet])
    const moved = await chain.rpc<Hex>('eth_sendTransaction', [
      {
        from: hotWallet,
        to: chain.tokens.usdc,
        data: encodeFunctionData({
          abi: erc20Abi,
          functionName: 'transfer',
          args: [destination(12), held - usdt(60n)],
        }),
      },
    ])
    await chain.rpc('anvil_stopImpersonatingAccount', [hotWallet])
    await chain.publicClient.waitForTransactionReceipt({ hash: moved })
    await chain.rpc('evm_setAutomine', [false])
    let first: Payout
    let second: Payout
    try {
      first = await request({ to: destination(13), amount: '40', asset: 'USDC' })
      second = await request({ to: destination(14), amount: '30', asset: 'USDC' })
      await run(networkName)
      // The first is signed and broadcast; the chain still shows 60, but only 20 is left once it is mined.
      expect((await getPayout(database.pool, merchantId, first.id)).status).toBe('broadcast')
      expect(await getPayout(database.pool, merchantId, second.id)).toMatchObject({
        status: 'queued',
        error: 'hot wallet balance cannot cover this payout yet; waiting',
      })
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await chain.mine(1)
    expect((await settle(first.id)).status).toBe('finalized')
    // Nothing was signed for it, so nothing reverted: it waits for the hot wallet to be topped up.
    expect(await getPayout(database.pool, merchantId, second.id)).toMatchObject({ status: 'queued' })
    expect(await transfersTo(chain.tokens.usdc, destination(14))).toBe(0)
  })
})
