import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, erc20Abi, type Hex, parseAbiItem } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestChain, type TestChain } from '../../../test/setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { ChainWatcher } from '../../jobs/chain-watcher.ts'
import { RetryLater } from '../../jobs/runner.ts'
import { createSweepDepositsHandler, createSweepRunner, scheduleSweeps } from '../../jobs/sweep-deposits.ts'
import { createLogger } from '../../lib/logger.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'
import {
  getAccountBalance,
  getOrCreateSystemAccount,
  getTransfer,
  verifyLedger,
} from '../ledger/ledger.service.ts'
import type { SystemAccountKind } from '../ledger/ledger.types.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { allocateDepositAddress } from '../payments/payment.service.ts'
import { importSanctionLists } from '../sanctions/sanction.service.ts'
import { createSweepChain } from './sweep.chain.ts'
import {
  findGatewayHotWalletAddress,
  getGatewayHotWalletAddress,
  getHotWalletNextNonce,
  listSweepPaymentIds,
  listSweeps,
  recordGasStationFunding,
  recordGatewayHotWallet,
} from './sweep.service.ts'
import { feePaid, isOpen, nativeAssetId } from './sweep.state.ts'
import { type BroadcastPoint, gatewayHdAccount, type Sweep, type SweepFaults } from './sweep.types.ts'

// Sweeping on a real anvil chain into a real PostgreSQL: deposits found by the watcher, swept with gas
// top-ups from the gas station, and the ledger compared with the chain to the last unit.
const networkName = 'testnet'
const usdtAsset = `USDT@${networkName}`
const bscUsdAsset = `BSC-USD@${networkName}`
const ethAsset = nativeAssetId(networkName)
const usdt = (whole: bigint, units = 0n) => whole * 10n ** 6n + units
const bscUsd = (whole: bigint, units = 0n) => whole * 10n ** 18n + units
const finalityDepth = 4
const sanctionedSenderIndex = 7
const gasStationFunding = 10n * 10n ** 18n
const silent = createLogger('silent')

let database: TestDatabase
let chain: TestChain
let network: NetworkConfig
let watcher: ChainWatcher
let provider: MasterKeyProvider
let merchantId: string
let hotWallet: Address
let run: ReturnType<typeof createSweepRunner>

async function addressFor(ownerId: string): Promise<Address> {
  const ownerKind = ownerId.startsWith('inv_') ? 'invoice' : 'customer'
  return (await allocateDepositAddress(database.pool, { merchantId, ownerKind, ownerId })).address as Address
}

/** Mines past finality and lets the watcher credit everything it sees. */
async function finalizeDeposits(): Promise<void> {
  await chain.mine(finalityDepth)
  for (let index = 0; index < 20; index += 1) if ((await watcher.tick()) === 'caught-up') return
  throw new Error('watcher did not catch up')
}

async function openSweeps(): Promise<Sweep[]> {
  return (await listSweeps(database.pool, { network: networkName })).filter((sweep) => isOpen(sweep.status))
}

/** Runs sweep ticks, mining past finality between them, until no sweep is open. */
async function settleSweeps(runner = run): Promise<void> {
  for (let index = 0; index < 12; index += 1) {
    await runner(networkName)
    if ((await openSweeps()).length === 0) return
    await chain.mine(finalityDepth)
  }
  throw new Error(`sweeps did not settle: ${(await openSweeps()).map((sweep) => sweep.status).join(', ')}`)
}

async function sweepsAt(address: Address): Promise<Sweep[]> {
  return await listSweeps(database.pool, { network: networkName, depositAddress: address })
}

const balanceOf = (token: Address, holder: Address) =>
  chain.publicClient.readContract({
    address: token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [holder],
  })

async function posted(kind: SystemAccountKind, assetId: string): Promise<bigint> {
  const account = await getOrCreateSystemAccount(database.pool, kind, assetId)
  return (await getAccountBalance(database.pool, account.id)).posted
}

async function allDepositAddresses(): Promise<Address[]> {
  const result = await database.pool.query<{ address: Address }>('select address from deposit_addresses')
  return result.rows.map((row) => row.address)
}

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')

async function transfersFrom(token: Address, from: Address): Promise<number> {
  const logs = await chain.publicClient.getLogs({
    address: token,
    event: transferEvent,
    args: { from },
    fromBlock: 0n,
  })
  return logs.length
}

type ReceiptFee = { sweep: Sweep; hash: Hex; kind: 'top-up' | 'sweep'; gasUsed: bigint; fee: bigint }

/** Every transaction the sweeper sent, with the fee its receipt says it paid. */
async function receiptFees(): Promise<ReceiptFee[]> {
  const fees: ReceiptFee[] = []
  for (const sweep of await listSweeps(database.pool, { network: networkName })) {
    const hashes: [Hex | undefined, 'top-up' | 'sweep'][] = [
      ['topUp' in sweep ? (sweep.topUp?.transaction?.hash ?? undefined) : undefined, 'top-up'],
      ['transaction' in sweep ? (sweep.transaction?.hash ?? undefined) : undefined, 'sweep'],
    ]
    for (const [hash, kind] of hashes) {
      if (hash === undefined) continue
      const receipt = await chain.publicClient.getTransactionReceipt({ hash })
      fees.push({ sweep, hash, kind, gasUsed: receipt.gasUsed, fee: feePaid(receipt) })
    }
  }
  return fees
}

/** The ledger against the chain, per asset, to the last unit (signs: ADR 0012). */
async function expectLedgerMatchesChain(): Promise<void> {
  const deposits = await allDepositAddresses()
  for (const [token, assetId] of [
    [chain.tokens.usdt, usdtAsset],
    [chain.tokens.bscUsd, bscUsdAsset],
  ] as const) {
    let atDeposits = 0n
    for (const address of deposits) atDeposits += await balanceOf(token, address)
    expect(await posted('hot-wallet', assetId)).toBe(await balanceOf(token, hotWallet))
    expect(-(await posted('deposit-clearing', assetId))).toBe(atDeposits)
    expect(await posted('sweep-in-transit', assetId)).toBe(0n)
  }
  let dust = 0n
  for (const address of deposits) dust += await chain.publicClient.getBalance({ address })
  expect(await posted('hot-wallet', ethAsset)).toBe(
    await chain.publicClient.getBalance({ address: hotWallet }),
  )
  expect(-(await posted('deposit-clearing', ethAsset))).toBe(dust)
  const fees = (await receiptFees()).reduce((sum, entry) => sum + entry.fee, 0n)
  expect(await posted('network-fee-expense', ethAsset)).toBe(fees)
  const onChainNonce = await chain.publicClient.getTransactionCount({ address: hotWallet })
  expect(await getHotWalletNextNonce(database.pool, networkName, hotWallet)).toBe(onChainNonce)
}

async function importSanctionedSender(): Promise<void> {
  const listDirectory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(listDirectory, 0o755)
  const file = join(listDirectory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(file, `${chain.account(sanctionedSenderIndex).address}\n`)
  await importSanctionLists(database.pool, [file])
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain()
  provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  merchantId = (await createMerchant(database.pool, { name: 'Sweep Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
  await importSanctionedSender()
  network = {
    name: networkName,
    kind: 'evm',
    chainId: 31_337,
    rpcUrls: [chain.anvil.rpcUrl],
    // automine chains have old heads between transactions: a long block time keeps the head "fresh".
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: finalityDepth },
    tokens: [
      { symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 },
      { symbol: 'BSC-USD', contractAddress: chain.tokens.bscUsd, decimals: 18 },
    ],
  }
  watcher = new ChainWatcher({ pool: database.pool, network, logger: silent })
  hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gasStationFunding.toString(16)}`])
  await recordGasStationFunding(database.pool, networkName, gasStationFunding, 'devnet-initial')
  run = createSweepRunner({
    pool: database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: provider,
  })
})

afterAll(async () => {
  await chain?.stop()
  await database?.drop()
})

describe('gateway wallets', () => {
  it('derive the hot wallet on the reserved account, which merchant allocation never reaches', async () => {
    const others = []
    for (const name of ['Second Store', 'Third Store']) {
      const id = (await createMerchant(database.pool, { name })).merchant.id
      others.push(await exportAccountXpub(database.pool, provider, id))
    }
    expect(others.map((account) => account.accountIndex)).toEqual([1, 2])
    expect(gatewayHdAccount).toBe(2 ** 31 - 1)
    expect(await getGatewayHotWalletAddress(database.pool, provider)).toBe(hotWallet)
    expect(await allDepositAddresses()).not.toContain(hotWallet)
    // The database half of the pair: the reserved index cannot be stored for a merchant.
    const spare = (await createMerchant(database.pool, { name: 'Fourth Store' })).merchant.id
    await expect(
      database.pool.query('insert into hd_accounts (merchant_id, account_index, xpub) values ($1, $2, $3)', [
        spare,
        gatewayHdAccount,
        others[0]?.xpub,
      ]),
    ).rejects.toThrow(/hd_accounts_gateway_account_reserved/)
  })

  it('records the hot wallet for readers without a key, without disturbing its nonce sequence', async () => {
    expect(await findGatewayHotWalletAddress(database.pool, 'elsewhere')).toBeUndefined()
    const before = await getHotWalletNextNonce(database.pool, networkName, hotWallet)
    await recordGatewayHotWallet(database.pool, provider, [{ name: networkName }, { name: 'elsewhere' }])
    expect(await findGatewayHotWalletAddress(database.pool, networkName)).toBe(hotWallet)
    expect(await findGatewayHotWalletAddress(database.pool, 'elsewhere')).toBe(hotWallet)
    // Recording again (every worker start) changes nothing; an existing sequence keeps its next nonce.
    await recordGatewayHotWallet(database.pool, provider, [{ name: networkName }])
    if (before !== undefined)
      expect(await getHotWalletNextNonce(database.pool, networkName, hotWallet)).toBe(before)
  })

  it('books the gas station funding once per reference, and refuses a non-positive amount', async () => {
    const again = await recordGasStationFunding(
      database.pool,
      networkName,
      gasStationFunding,
      'devnet-initial',
    )
    expect(again).toBe(`gas-funding:${networkName}:devnet-initial`)
    expect(await posted('hot-wallet', ethAsset)).toBe(gasStationFunding)
    await expect(recordGasStationFunding(database.pool, networkName, 0n, 'zero')).rejects.toMatchObject({
      code: 'gas-station-funding-invalid',
    })
  })
})

describe('sweeping', () => {
  it('sweeps USDT (no return value) and 18-decimal BSC-USD from two addresses; the ledger equals the chain', async () => {
    const first = await addressFor('cus_first')
    const second = await addressFor('inv_second')
    await chain.pay(chain.tokens.usdt, 1, first, usdt(25n, 500_000n))
    await chain.pay(chain.tokens.bscUsd, 2, first, bscUsd(100n, 1n))
    await chain.pay(chain.tokens.usdt, 3, second, usdt(12n, 345_678n))
    await chain.pay(chain.tokens.bscUsd, 4, second, bscUsd(10n)) // exactly the threshold
    await finalizeDeposits()
    await settleSweeps()
    const sweeps = [...(await sweepsAt(first)), ...(await sweepsAt(second))]
    expect(sweeps.map((sweep) => [sweep.status, sweep.assetId, sweep.amount]).sort()).toEqual(
      [
        ['finalized', bscUsdAsset, bscUsd(10n)],
        ['finalized', bscUsdAsset, bscUsd(100n, 1n)],
        ['finalized', usdtAsset, usdt(12n, 345_678n)],
        ['finalized', usdtAsset, usdt(25n, 500_000n)],
      ].sort(),
    )
    expect(await balanceOf(chain.tokens.usdt, hotWallet)).toBe(usdt(37n, 845_678n))
    expect(await balanceOf(chain.tokens.bscUsd, hotWallet)).toBe(bscUsd(110n, 1n))
    for (const address of [first, second]) {
      expect(await balanceOf(chain.tokens.usdt, address)).toBe(0n)
      expect(await balanceOf(chain.tokens.bscUsd, address)).toBe(0n)
      // One sweep per asset, one at a time: the address signed exactly two transactions.
      expect(await chain.publicClient.getTransactionCount({ address })).toBe(2)
    }
    await expectLedgerMatchesChain()
    // The gas figures of this run, for the ADR and the report.
    // The gas figures of this run, for the ADR and the report (hot wallet: new holder first, then existing).
    const figures = (await receiptFees()).map((entry) => {
      const topUp = 'topUp' in entry.sweep ? (entry.sweep.topUp?.amount ?? 0n) : 0n
      const sent = entry.kind === 'top-up' ? `, sent ${topUp} wei` : ''
      return `${entry.sweep.assetId} ${entry.kind}: ${entry.gasUsed} gas, fee ${entry.fee} wei${sent}`
    })
    for (const address of [first, second])
      figures.push(`dust left at ${address}: ${await chain.publicClient.getBalance({ address })} wei`)
    console.info(`gas per sweep transaction:\n${figures.join('\n')}`)
    for (const entry of await receiptFees()) if (entry.kind === 'top-up') expect(entry.gasUsed).toBe(21_000n)
  })

  it('does not sweep one unit below the threshold, and sweeps one unit above it', async () => {
    const below = await addressFor('cus_below')
    const above = await addressFor('cus_above')
    await chain.pay(chain.tokens.usdt, 1, below, usdt(10n) - 1n)
    await chain.pay(chain.tokens.usdt, 1, above, usdt(10n) + 1n)
    await finalizeDeposits()
    await settleSweeps()
    expect(await sweepsAt(below)).toEqual([])
    expect((await sweepsAt(above)).map((sweep) => [sweep.status, sweep.amount])).toEqual([
      ['finalized', usdt(10n) + 1n],
    ])
    // A second deposit lifts the first address over the line: both payments go in one sweep.
    await chain.pay(chain.tokens.usdt, 2, below, usdt(0n, 10_000n))
    await finalizeDeposits()
    await settleSweeps()
    const [sweep] = await sweepsAt(below)
    expect(sweep).toMatchObject({ status: 'finalized', amount: usdt(10n, 9_999n) })
    expect(await listSweepPaymentIds(database.pool, sweep?.id ?? '')).toHaveLength(2)
    await expectLedgerMatchesChain()
  })

  it('leaves a held deposit at its address and sweeps only what was credited', async () => {
    const address = await addressFor('cus_held')
    const held = await chain.pay(chain.tokens.usdt, sanctionedSenderIndex, address, usdt(20n))
    await chain.pay(chain.tokens.usdt, 5, address, usdt(15n))
    await finalizeDeposits()
    const status = await database.pool.query<{ status: string }>(
      'select status from payments where tx_hash = $1',
      [held.transactionHash],
    )
    expect(status.rows[0]?.status).toBe('held')
    await settleSweeps()
    const sweeps = await sweepsAt(address)
    expect(sweeps.map((sweep) => [sweep.status, sweep.amount])).toEqual([['finalized', usdt(15n)]])
    expect(await balanceOf(chain.tokens.usdt, address)).toBe(usdt(20n))
    // Held funds stay in deposit-clearing (booked against suspense), which the comparison below includes.
    await settleSweeps()
    expect(await sweepsAt(address)).toHaveLength(1)
    await expectLedgerMatchesChain()
  })
})

/** A fault that fires once at `kind`, as if the process died there. */
function crashOnce(
  where: keyof SweepFaults,
  kind: BroadcastPoint['kind'],
): { faults: SweepFaults; fired: () => boolean } {
  let fired = false
  const fault = (point: BroadcastPoint) => {
    if (fired || point.kind !== kind) return
    fired = true
    throw new Error(`simulated crash ${where} ${kind} ${point.hash}`)
  }
  return { faults: { [where]: fault }, fired: () => fired }
}

async function runUntilCrash(crash: ReturnType<typeof crashOnce>): Promise<void> {
  const crashing = createSweepRunner({
    pool: database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: provider,
    faults: crash.faults,
  })
  for (let index = 0; index < 6 && !crash.fired(); index += 1) {
    await crashing(networkName).catch((error: unknown) => {
      if (!(error instanceof Error && error.message.startsWith('simulated crash'))) throw error
    })
  }
  expect(crash.fired()).toBe(true)
}

describe('crash windows', () => {
  it('after storing the signed sweep and before broadcasting it: the rerun broadcasts the same transaction', async () => {
    const address = await addressFor('cus_crash_before')
    await chain.pay(chain.tokens.usdt, 1, address, usdt(11n))
    await finalizeDeposits()
    await runUntilCrash(crashOnce('beforeBroadcast', 'sweep'))
    const [stored] = await sweepsAt(address)
    expect(stored?.status).toBe('sent')
    const hash = stored?.status === 'sent' ? stored.transaction.hash : '0x'
    expect(await chain.rpc('eth_getTransactionByHash', [hash])).toBeNull()
    expect(await posted('sweep-in-transit', usdtAsset)).toBe(usdt(11n))
    await settleSweeps()
    const [done] = await sweepsAt(address)
    expect(done).toMatchObject({ status: 'finalized', transaction: { hash } })
    expect(await transfersFrom(chain.tokens.usdt, address)).toBe(1)
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(1)
    await expectLedgerMatchesChain()
  })

  it('after broadcasting the sweep and before recording it: resolved from the receipt, no second transaction', async () => {
    const address = await addressFor('cus_crash_after')
    await chain.pay(chain.tokens.usdt, 1, address, usdt(12n))
    await finalizeDeposits()
    await runUntilCrash(crashOnce('afterBroadcast', 'sweep'))
    const [stored] = await sweepsAt(address)
    expect(stored).toMatchObject({ status: 'sent', broadcasts: 0 })
    await settleSweeps()
    expect((await sweepsAt(address)).map((sweep) => sweep.status)).toEqual(['finalized'])
    expect(await transfersFrom(chain.tokens.usdt, address)).toBe(1)
    expect(await chain.publicClient.getTransactionCount({ address })).toBe(1)
    await expectLedgerMatchesChain()
  })

  it('after storing the signed top-up and before broadcasting it: one top-up, no nonce gap', async () => {
    const address = await addressFor('cus_crash_top_up')
    await chain.pay(chain.tokens.usdt, 1, address, usdt(13n))
    await finalizeDeposits()
    const nonceBefore = await chain.publicClient.getTransactionCount({ address: hotWallet })
    await runUntilCrash(crashOnce('beforeBroadcast', 'top-up'))
    expect((await sweepsAt(address)).map((sweep) => sweep.status)).toEqual(['gas-funding'])
    expect(await chain.publicClient.getTransactionCount({ address: hotWallet })).toBe(nonceBefore)
    await settleSweeps()
    expect((await sweepsAt(address)).map((sweep) => sweep.status)).toEqual(['finalized'])
    expect(await chain.publicClient.getTransactionCount({ address: hotWallet })).toBe(nonceBefore + 1)
    await expectLedgerMatchesChain()
  })
})

describe('refused broadcasts', () => {
  it('keeps a top-up the node refuses and sends the same one later: refused is not failed', async () => {
    const address = await addressFor('cus_refused')
    await chain.pay(chain.tokens.usdt, 1, address, usdt(14n))
    await finalizeDeposits()
    const refusing = createSweepRunner({
      pool: database.pool,
      logger: silent,
      networks: [network],
      masterKeyProvider: provider,
      chainFor: (config) => ({
        ...createSweepChain(config),
        broadcast: async () => {
          throw new Error('insufficient funds for gas * price + value')
        },
      }),
    })
    await refusing(networkName)
    await refusing(networkName)
    const [waiting] = await sweepsAt(address)
    expect(waiting).toMatchObject({ status: 'gas-funding', broadcasts: 0 })
    expect(waiting?.error).toMatch(/top-up broadcast refused: insufficient funds/)
    const hash = waiting?.status === 'gas-funding' ? waiting.topUp.transaction.hash : '0x'
    await settleSweeps()
    expect(await sweepsAt(address)).toMatchObject([
      { status: 'finalized', error: null, topUp: { transaction: { hash } } },
    ])
    await expectLedgerMatchesChain()
  })
})

/** Stored top-up attempts of a sweep (sweep_top_up_transactions), first first. */
async function topUpAttempts(sweepId: string) {
  const result = await database.pool.query<{
    nonce: string
    tx_hash: Hex
    raw_tx: Hex
    max_fee_per_gas: string
    max_priority_fee_per_gas: string
  }>('select * from sweep_top_up_transactions where sweep_id = $1 order by attempt', [sweepId])
  return result.rows.map((row) => ({
    nonce: Number(row.nonce),
    hash: row.tx_hash,
    raw: row.raw_tx,
    maxFee: BigInt(row.max_fee_per_gas),
    tip: BigInt(row.max_priority_fee_per_gas),
  }))
}

/** The top-up a sweep row points at: the latest attempt while funding, the mined one after. */
async function topUpHashAt(address: Address): Promise<Hex | undefined> {
  const [sweep] = await sweepsAt(address)
  return sweep !== undefined && 'topUp' in sweep ? (sweep.topUp?.transaction?.hash ?? undefined) : undefined
}

const gwei = 1_000_000_000n
const setBaseFee = (wei: bigint) => chain.rpc('anvil_setNextBlockBaseFeePerGas', [`0x${wei.toString(16)}`])
const receiptOf = (hash: Hex) => chain.publicClient.getTransactionReceipt({ hash }).catch(() => undefined)

describe("a gas top-up priced out at the hot wallet's nonce", () => {
  // The signing worker's clock, moved forward to make a top-up "stuck" without waiting a minute.
  let clockOffsetMs = 0
  const clocked = () =>
    createSweepRunner({
      pool: database.pool,
      logger: silent,
      networks: [network],
      masterKeyProvider: provider,
      now: () => new Date(Date.now() + clockOffsetMs),
    })

  /** A finalized deposit and its sweep's first top-up signed at a 1 wei base fee, then priced out. */
  async function stuckTopUp(ownerId: string, amount: bigint) {
    const address = await addressFor(ownerId)
    await chain.pay(chain.tokens.usdt, 1, address, amount)
    await finalizeDeposits()
    await setBaseFee(1n)
    await chain.mine(1)
    await chain.rpc('evm_setAutomine', [false])
    const runner = clocked()
    await runner(networkName)
    const [funding] = await sweepsAt(address)
    expect(funding?.status).toBe('gas-funding')
    const sweepId = funding?.id ?? ''
    const hash = await topUpHashAt(address)
    const first = (await topUpAttempts(sweepId))[0] ?? {
      nonce: -1,
      hash: hash ?? '0x',
      raw: '0x' as Hex,
      maxFee: 0n,
      tip: 0n,
    }
    expect(first.hash).toBe(hash)
    expect(first.maxFee).toBeLessThan(100n * gwei)
    await setBaseFee(100n * gwei)
    await chain.mine(1)
    expect(await receiptOf(first.hash)).toBeUndefined()
    return { address, sweepId, first, runner }
  }

  it('is replaced at the same nonce within the caps; the replacement is mined and booked; the ledger equals the chain', async () => {
    let stuck: Awaited<ReturnType<typeof stuckTopUp>> | undefined
    let second: Awaited<ReturnType<typeof topUpAttempts>>[number] | undefined
    try {
      stuck = await stuckTopUp('cus_stuck_top_up', usdt(16n))
      const { address, sweepId, first, runner } = stuck
      // Not stuck long enough yet: the same bytes go out again.
      await runner(networkName)
      expect(await topUpHashAt(address)).toBe(first.hash)
      clockOffsetMs += 61_000
      await runner(networkName)
      const replacement = await topUpHashAt(address)
      expect(replacement).not.toBe(first.hash)
      const attempts = await topUpAttempts(sweepId)
      expect(attempts.map((attempt) => attempt.hash)).toEqual([first.hash, replacement])
      second = attempts[1]
      expect(second?.nonce).toBe(first.nonce)
      expect((second?.maxFee ?? 0n) * 100n).toBeGreaterThanOrEqual(first.maxFee * 110n)
      expect((second?.tip ?? 0n) * 100n).toBeGreaterThanOrEqual(first.tip * 110n)
      await setBaseFee(100n * gwei)
      await chain.mine(1)
      expect((await receiptOf(second?.hash ?? '0x'))?.status).toBe('success')
      expect(await receiptOf(first.hash)).toBeUndefined()
      // The deposit address pays its sweep at the fee it was funded for: let the base fee fall back.
      await setBaseFee(1n)
      await chain.mine(1)
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await settleSweeps(stuck.runner)
    const [done] = await sweepsAt(stuck.address)
    expect(done).toMatchObject({ status: 'finalized', topUp: { transaction: { hash: second?.hash } } })
    const mined = await receiptOf(second?.hash ?? '0x')
    expect(await getTransfer(database.pool, `sweep-top-up-fee:${stuck.sweepId}`)).toMatchObject({
      amount: (mined?.gasUsed ?? 0n) * (mined?.effectiveGasPrice ?? 0n),
      metadata: { tx_hash: second?.hash },
    })
    expect(await transfersFrom(chain.tokens.usdt, stuck.address)).toBe(1)
    await expectLedgerMatchesChain()
  })

  it('an older top-up attempt mined after its replacement was sent is recognised and booked once', async () => {
    let stuck: Awaited<ReturnType<typeof stuckTopUp>> | undefined
    try {
      stuck = await stuckTopUp('cus_old_top_up', usdt(17n))
      const { sweepId, first, runner } = stuck
      clockOffsetMs += 61_000
      await runner(networkName)
      const second = (await topUpAttempts(sweepId))[1]
      expect(second?.nonce).toBe(first.nonce)
      // Another node still held the first attempt and mines it: here, the replacement is dropped and the
      // first one sent again, and the base fee falls back under its max fee.
      await chain.rpc('anvil_dropTransaction', [second?.hash])
      await setBaseFee(1n)
      await chain.rpc('eth_sendRawTransaction', [first.raw])
      await chain.mine(1)
      expect((await receiptOf(first.hash))?.status).toBe('success')
      clockOffsetMs += 61_000
      await runner(networkName)
      expect(await topUpAttempts(sweepId)).toHaveLength(2)
      // Funded by the first attempt (the sweep itself may already be signed in the same tick).
      const [funded] = await sweepsAt(stuck.address)
      expect(['ready', 'sent']).toContain(funded?.status)
      expect(funded).toMatchObject({ topUp: { transaction: { hash: first.hash } } })
      expect(await receiptOf(second?.hash ?? '0x')).toBeUndefined()
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await settleSweeps(stuck.runner)
    const mined = await receiptOf(stuck.first.hash)
    expect(await getTransfer(database.pool, `sweep-top-up-fee:${stuck.sweepId}`)).toMatchObject({
      amount: (mined?.gasUsed ?? 0n) * (mined?.effectiveGasPrice ?? 0n),
      metadata: { tx_hash: stuck.first.hash },
    })
    await expectLedgerMatchesChain()
  })

  it('after storing a replacement and before broadcasting it: the rerun broadcasts that replacement', async () => {
    let stuck: Awaited<ReturnType<typeof stuckTopUp>> | undefined
    try {
      stuck = await stuckTopUp('cus_crash_replacement', usdt(18n))
      clockOffsetMs += 61_000
      const crash = crashOnce('beforeBroadcast', 'top-up')
      const crashing = createSweepRunner({
        pool: database.pool,
        logger: silent,
        networks: [network],
        masterKeyProvider: provider,
        now: () => new Date(Date.now() + clockOffsetMs),
        faults: crash.faults,
      })
      await expect(crashing(networkName)).rejects.toThrow(/simulated crash/)
      const attempts = await topUpAttempts(stuck.sweepId)
      expect(attempts).toHaveLength(2)
      const replacement = attempts[1]?.hash ?? '0x'
      expect(await chain.rpc('eth_getTransactionByHash', [replacement])).toBeNull()
      await stuck.runner(networkName)
      expect(await topUpAttempts(stuck.sweepId)).toHaveLength(2)
      expect(await chain.rpc('eth_getTransactionByHash', [replacement])).not.toBeNull()
      await setBaseFee(100n * gwei)
      await chain.mine(1)
      expect((await receiptOf(replacement))?.status).toBe('success')
      await setBaseFee(1n)
      await chain.mine(1)
    } finally {
      await chain.rpc('evm_setAutomine', [true])
    }
    await settleSweeps(stuck.runner)
    expect((await sweepsAt(stuck.address)).map((sweep) => sweep.status)).toEqual(['finalized'])
    await expectLedgerMatchesChain()
  })
})

describe('sweep job', () => {
  it('is scheduled once per network and reschedules itself after each run', async () => {
    await scheduleSweeps(database.pool, [network])
    await scheduleSweeps(database.pool, [network])
    const jobs = await database.pool.query<{ id: string; payload: { network: string } }>(
      "select id, payload from jobs where kind = 'sweep-deposits'",
    )
    expect(jobs.rows.map((row) => row.payload)).toEqual([{ network: networkName }])
    const handler = createSweepDepositsHandler({
      pool: database.pool,
      logger: silent,
      networks: [network],
      masterKeyProvider: provider,
    })
    const job = {
      id: jobs.rows[0]?.id ?? '',
      kind: 'sweep-deposits',
      payload: { network: networkName },
      attempts: 1,
      attemptsMax: 25,
    }
    await expect(handler(job, new AbortController().signal)).rejects.toBeInstanceOf(RetryLater)
  })

  it('ends with a ledger that verifies without drift', async () => {
    await expectLedgerMatchesChain()
    const report = await verifyLedger(database.pool)
    expect(report.drifts).toEqual([])
    expect(report.imbalances).toEqual([])
    expect(report.limitViolations).toEqual([])
  })
})
