import { type Address, createWalletClient, defineChain, erc20Abi, http, parseAbi } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CustodyFixture, startCustodyFixture } from '../../../test/setup/custody-fixture.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { createReconciliationChain } from '../../jobs/reconcile-hot-wallet.ts'
import { createWatchTreasuryRunner, type TreasuryJobContext } from '../../jobs/treasury.ts'
import { createLogger } from '../../lib/logger.ts'
import { bookInflowExitCodes, runTreasuryCommand } from '../../main/commands/treasury.ts'
import { findSystemAccountBalance, verifyLedger } from '../ledger/ledger.service.ts'
import { checkHotWallet } from '../reconciliation/reconciliation.service.ts'
import { recordGatewayHotWallet } from '../sweeps/sweep.service.ts'
import { listTreasuryProposals } from './treasury.service.ts'

// Inflows to the hot wallet that are no payment, on anvil and PostgreSQL (docs/adr/0016 decision 9): a top-up
// from the configured cold address is booked by the watch-treasury job once final, once; a third party's
// transfer is not (it stays a reconciliation drift) until `sluice treasury book-inflow` books it with a
// reason, as it books native gas funding; after that the reconciliation sees no drift. The command's
// refusals write nothing; a crash in the middle of a scanned range books nothing twice.
const usdt = (whole: bigint, units = 0n) => whole * 10n ** 6n + units
const silent = createLogger('silent')
const coldIndex = 15

let fixture: CustodyFixture
let network: NetworkConfig
let hotWallet: Address
let cold: Address

function walletOf(index: number) {
  const chain = defineChain({
    id: fixture.network.chainId,
    name: 'testnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [fixture.chain.anvil.rpcUrl] } },
  })
  return createWalletClient({
    account: fixture.chain.account(index),
    chain,
    transport: http(fixture.chain.anvil.rpcUrl),
  })
}

/** One watch-treasury run, as the scheduler's job does it (a fresh runner: a restarted worker). */
async function watch(options: Pick<TreasuryJobContext, 'inflowFaults'> = {}): Promise<void> {
  const run = createWatchTreasuryRunner({
    pool: fixture.database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: fixture.provider,
    now: fixture.now,
    ...(options.inflowFaults === undefined ? {} : { inflowFaults: options.inflowFaults }),
  })
  await run()
}

async function bookInflow(args: string[], view: NetworkConfig = network) {
  const lines: string[] = []
  const code = await runTreasuryCommand(['book-inflow', ...args], {
    pool: fixture.database.pool,
    networks: [view],
    write: (line) => lines.push(line),
  })
  return { code, output: lines.join('\n') }
}

/** The Transfer log of `token` to `to` in a receipt. */
function logIndexOf(
  receipt: { logs: readonly { address: string; logIndex: number; topics: readonly string[] }[] },
  token: Address,
  to: Address,
): number {
  const log = receipt.logs.find(
    (candidate) =>
      candidate.address.toLowerCase() === token.toLowerCase() &&
      candidate.topics[2]?.toLowerCase() === `0x${to.slice(2).toLowerCase().padStart(64, '0')}`,
  )
  if (log === undefined) throw new Error('no such Transfer log')
  return log.logIndex
}

async function inflowRows() {
  const result = await fixture.database.pool.query<{
    id: string
    tx_hash: string
    log_index: number | null
    amount: string
    source: string
    booked_by: string
    reason: string | null
    proposal_id: string | null
    opening_amount: string | null
  }>(
    'select id, tx_hash, log_index, amount::text, source, booked_by, reason, proposal_id, opening_amount::text from treasury_inflows order by booked_at, id',
  )
  return result.rows
}

async function ledgerTransferCount(): Promise<number> {
  const result = await fixture.database.pool.query<{ count: string }>(
    'select count(*)::text as count from ledger_transfers',
  )
  return Number(result.rows[0]?.count)
}

async function posted(
  kind: 'hot-wallet' | 'cold-wallet' | 'operator-capital',
  assetId: string,
): Promise<bigint> {
  return (await findSystemAccountBalance(fixture.database.pool, kind, assetId))?.posted ?? 0n
}

/** The reconciliation's reading of every asset at the finalized block: asset → drift. */
async function drifts(): Promise<Record<string, bigint | string>> {
  const check = await checkHotWallet({
    pool: fixture.database.pool,
    chain: createReconciliationChain(network),
    hotWalletAddress: hotWallet,
  })
  return Object.fromEntries(
    check.assets.map((asset) => [asset.asset.assetId, asset.status === 'failed' ? asset.error : asset.drift]),
  )
}

const noDrift = { 'USDT@testnet': 0n, 'USDC@testnet': 0n, 'ETH@testnet': 0n }

beforeAll(async () => {
  fixture = await startCustodyFixture()
  cold = fixture.destination(coldIndex)
  network = {
    ...fixture.network,
    // A floor far above anything the tests send: the top-up proposal stays open throughout.
    treasury: {
      coldAddress: cold,
      hotWallet: { USDT: { floorMinor: usdt(1_000_000n), ceilingMinor: usdt(2_000_000n) } },
    },
  }
  // Anvil funds its first ten accounts only: the cold wallet needs gas for its transfers.
  await fixture.chain.rpc('anvil_setBalance', [cold, `0x${(10n ** 18n).toString(16)}`])
  hotWallet = await recordGatewayHotWallet(fixture.database.pool, fixture.provider, [network])
  await fixture.fund('USDT', usdt(500n))
  await fixture.chain.mine(3)
  // The first run starts the scan at the finalized block, and proposes the top-up.
  await watch()
})

afterAll(async () => {
  await fixture?.stop()
})

describe('a top-up from cold', () => {
  it('is booked cold-wallet → hot-wallet once final, not before, once however often the job runs', async () => {
    expect(await drifts()).toEqual(noDrift)
    const [proposal] = (await listTreasuryProposals(fixture.database.pool, { limit: 10 })).filter(
      (candidate) => candidate.kind === 'topup_from_cold' && candidate.status === 'open',
    )
    expect(proposal).toBeDefined()
    const amount = usdt(250n, 7n)
    const hotBefore = await posted('hot-wallet', 'USDT@testnet')
    const receipt = await fixture.chain.pay(fixture.chain.tokens.usdt, coldIndex, hotWallet, amount)
    // In the head block: not final (2 confirmations), so not booked, and not a drift at the finalized block.
    await watch()
    expect(await inflowRows()).toEqual([])
    expect(await drifts()).toEqual(noDrift)

    await fixture.chain.mine(1)
    await watch()
    await watch()
    const logIndex = logIndexOf(receipt, fixture.chain.tokens.usdt, hotWallet)
    const rows = await inflowRows()
    expect(rows).toEqual([
      expect.objectContaining({
        tx_hash: receipt.transactionHash,
        log_index: logIndex,
        amount: amount.toString(),
        source: 'cold-wallet',
        booked_by: 'scan',
        reason: null,
        proposal_id: proposal!.id,
        // The cold account had seen nothing: the whole amount enters it as operator capital first.
        opening_amount: amount.toString(),
      }),
    ])
    expect(await posted('hot-wallet', 'USDT@testnet')).toBe(hotBefore + amount)
    expect(await posted('cold-wallet', 'USDT@testnet')).toBe(0n)
    expect(await posted('operator-capital', 'USDT@testnet')).toBe(amount)
    const transfer = await fixture.database.pool.query<{ code: string; metadata: Record<string, string> }>(
      'select code, metadata from ledger_transfers where id = $1',
      [rows[0]!.id],
    )
    expect(transfer.rows[0]).toMatchObject({
      code: 'treasury-topup-from-cold',
      metadata: {
        tx_hash: receipt.transactionHash,
        log_index: String(logIndex),
        proposal_id: proposal!.id,
        booked_by: 'scan',
      },
    })
    const events = await fixture.database.pool.query<{
      type: string
      merchant_id: string | null
      payload: Record<string, unknown>
    }>('select type, merchant_id, payload from events where subject_id = $1', [rows[0]!.id])
    expect(events.rows).toEqual([
      {
        type: 'treasury.topup_received',
        merchant_id: null,
        payload: expect.objectContaining({
          amount_minor: amount.toString(),
          proposal_id: proposal!.id,
          asset: 'USDT@testnet',
        }),
      },
    ])
    expect(await drifts()).toEqual(noDrift)
    // The proposal resolves as before: only when the balance is back in the band (it is not here).
    expect(
      (await listTreasuryProposals(fixture.database.pool, { limit: 10 })).find((p) => p.id === proposal!.id)
        ?.status,
    ).toBe('open')

    // The command on the same log is the same booking.
    const again = await bookInflow([
      '--network',
      'testnet',
      '--tx',
      receipt.transactionHash,
      '--log-index',
      String(logIndex),
      '--reason',
      'ticket 1',
    ])
    expect(again.code).toBe(bookInflowExitCodes.booked)
    expect(again.output).toMatch(/^already booked/)
    expect(again.output).toMatch(/booked by the scan/)
    expect(await inflowRows()).toHaveLength(1)
  })

  it('a crash between two bookings of one range books nothing twice after the restart', async () => {
    const rowsBefore = (await inflowRows()).length
    const hotBefore = await posted('hot-wallet', 'USDT@testnet')
    const first = await fixture.chain.pay(fixture.chain.tokens.usdt, coldIndex, hotWallet, usdt(11n))
    const second = await fixture.chain.pay(fixture.chain.tokens.usdt, coldIndex, hotWallet, usdt(22n))
    await fixture.chain.mine(3)
    const cursor = async () =>
      (
        await fixture.database.pool.query<{ next_block: string }>(
          'select next_block from treasury_inflow_cursors',
        )
      ).rows[0]?.next_block
    const cursorBefore = await cursor()
    await watch({
      inflowFaults: {
        afterInflowBooked: (booked) => {
          if (booked === 1) throw new Error('worker killed after the first booking')
        },
      },
    })
    expect((await inflowRows()).map((row) => row.tx_hash).slice(rowsBefore)).toEqual([first.transactionHash])
    expect(await cursor()).toBe(cursorBefore)
    // The restarted job reads the same range again: the first is already booked (same id), the second is new.
    await watch()
    await watch()
    expect((await inflowRows()).map((row) => row.tx_hash).slice(rowsBefore)).toEqual([
      first.transactionHash,
      second.transactionHash,
    ])
    expect(await posted('hot-wallet', 'USDT@testnet')).toBe(hotBefore + usdt(33n))
    expect(BigInt((await cursor()) ?? '0')).toBeGreaterThan(BigInt(cursorBefore ?? '0'))
    expect(await drifts()).toEqual(noDrift)
  })
})

describe('inflows from anyone else', () => {
  it('a third party token transfer is not booked by the job: it stays a drift until the command books it with a reason', async () => {
    const amount = usdt(3n, 1n)
    const receipt = await fixture.chain.pay(fixture.chain.tokens.usdt, 5, hotWallet, amount)
    await fixture.chain.mine(3)
    const rowsBefore = (await inflowRows()).length
    await watch()
    expect(await inflowRows()).toHaveLength(rowsBefore)
    expect(await drifts()).toEqual({ ...noDrift, 'USDT@testnet': amount })

    const logIndex = String(logIndexOf(receipt, fixture.chain.tokens.usdt, hotWallet))
    const args = ['--network', 'testnet', '--tx', receipt.transactionHash, '--log-index', logIndex]
    const booked = await bookInflow([...args, '--reason', 'OPS-42: partner prefunding, confirmed by email'])
    expect(booked.code).toBe(bookInflowExitCodes.booked)
    expect(booked.output).toMatch(/^booked:/)
    expect(booked.output).toMatch(/3\.000001 USDT@testnet \(3000001 minor units\).*operator capital/)
    const row = (await inflowRows()).at(-1)
    expect(row).toMatchObject({
      source: 'operator-capital',
      booked_by: 'command',
      reason: 'OPS-42: partner prefunding, confirmed by email',
      proposal_id: null,
    })
    const transfer = await fixture.database.pool.query<{ code: string; metadata: Record<string, string> }>(
      'select code, metadata from ledger_transfers where id = $1',
      [row!.id],
    )
    expect(transfer.rows[0]).toMatchObject({
      code: 'operator-capital-inflow',
      metadata: {
        reason: 'OPS-42: partner prefunding, confirmed by email',
        tx_hash: receipt.transactionHash,
      },
    })
    const event = await fixture.database.pool.query<{ type: string; merchant_id: string | null }>(
      'select type, merchant_id from events where subject_id = $1',
      [row!.id],
    )
    expect(event.rows).toEqual([{ type: 'treasury.inflow_booked', merchant_id: null }])
    expect(await drifts()).toEqual(noDrift)
  })

  it('native gas funding is booked by the command, once; then the reconciliation sees no drift at all', async () => {
    const value = 123_456_789_000_000_000n
    const hash = await walletOf(6).sendTransaction({ to: hotWallet, value })
    await fixture.chain.publicClient.waitForTransactionReceipt({ hash })
    await fixture.chain.mine(3)
    expect(await drifts()).toEqual({ ...noDrift, 'ETH@testnet': value })
    const args = ['--network', 'testnet', '--tx', hash, '--reason', 'gas station refill from the ops wallet']
    const first = await bookInflow(args)
    expect(first.code).toBe(bookInflowExitCodes.booked)
    expect(first.output).toMatch(/^booked:/)
    expect(first.output).toMatch(/0\.123456789 ETH@testnet/)
    const transfers = await ledgerTransferCount()
    const second = await bookInflow(args)
    expect(second.code).toBe(bookInflowExitCodes.booked)
    expect(second.output).toMatch(/^already booked/)
    expect(await ledgerTransferCount()).toBe(transfers)
    expect((await inflowRows()).at(-1)).toMatchObject({
      log_index: null,
      source: 'operator-capital',
      booked_by: 'command',
    })
    expect(await drifts()).toEqual(noDrift)
    expect((await verifyLedger(fixture.database.pool)).drifts).toHaveLength(0)
  })
})

describe('sluice treasury book-inflow refuses', () => {
  async function refused(args: string[], code: number, pattern: RegExp, view?: NetworkConfig) {
    const rows = (await inflowRows()).length
    const transfers = await ledgerTransferCount()
    const result = await bookInflow(args, view)
    expect(result.code, result.output).toBe(code)
    expect(result.output).toMatch(pattern)
    expect(await inflowRows()).toHaveLength(rows)
    expect(await ledgerTransferCount()).toBe(transfers)
  }

  it('what is not a final, successful inflow to the hot wallet of a configured token, or has no reason', async () => {
    const reason = ['--reason', 'checked by ops']
    const paid = await fixture.chain.pay(fixture.chain.tokens.usdt, 8, hotWallet, usdt(1n))
    const log = String(logIndexOf(paid, fixture.chain.tokens.usdt, hotWallet))
    const tx = (hash: string) => ['--network', 'testnet', '--tx', hash]
    // In the head block: not final yet.
    await refused(
      [...tx(paid.transactionHash), '--log-index', log, ...reason],
      bookInflowExitCodes.refused,
      /refused \(transaction-not-final\)/,
    )
    await fixture.chain.mine(3)
    await refused(
      [...tx(paid.transactionHash), '--log-index', log],
      bookInflowExitCodes.usage,
      /reason is required/,
    )
    await refused(
      [...tx(paid.transactionHash), '--log-index', log, '--reason', ' '],
      bookInflowExitCodes.usage,
      /reason is required/,
    )
    await refused(
      [...tx(paid.transactionHash), '--log-index', '7', ...reason],
      bookInflowExitCodes.refused,
      /refused \(log-index-unknown\)/,
    )
    // Without --log-index: the transaction itself (to the token contract) sent the hot wallet no coin.
    await refused(
      [...tx(paid.transactionHash), ...reason],
      bookInflowExitCodes.refused,
      /refused \(not-to-hot-wallet\)/,
    )
    const elsewhere = await fixture.chain.pay(fixture.chain.tokens.usdt, 8, fixture.destination(9), usdt(1n))
    const elsewhereLog = String(logIndexOf(elsewhere, fixture.chain.tokens.usdt, fixture.destination(9)))
    const unconfigured = await fixture.chain.pay(fixture.chain.tokens.bscUsd, 8, hotWallet, 10n ** 18n)
    const unconfiguredLog = String(logIndexOf(unconfigured, fixture.chain.tokens.bscUsd, hotWallet))
    // A reverted transfer (more than the sender holds), mined with an explicit gas limit.
    const revertedHash = await walletOf(7).writeContract({
      address: fixture.chain.tokens.usdt,
      abi: parseAbi(['function transfer(address to, uint256 amount)']),
      functionName: 'transfer',
      args: [hotWallet, usdt(1_000_000n)],
      gas: 200_000n,
    })
    const reverted = await fixture.chain.publicClient.waitForTransactionReceipt({ hash: revertedHash })
    expect(reverted.status).toBe('reverted')
    await fixture.chain.mine(3)
    await refused(
      [...tx(elsewhere.transactionHash), '--log-index', elsewhereLog, ...reason],
      bookInflowExitCodes.refused,
      /refused \(not-to-hot-wallet\)/,
    )
    await refused(
      [...tx(unconfigured.transactionHash), '--log-index', unconfiguredLog, ...reason],
      bookInflowExitCodes.refused,
      /refused \(token-not-configured\)/,
    )
    await refused(
      [...tx(revertedHash), ...reason],
      bookInflowExitCodes.refused,
      /refused \(transaction-failed\)/,
    )
    await refused(
      [...tx(`0x${'12'.repeat(32)}`), ...reason],
      bookInflowExitCodes.refused,
      /refused \(transaction-not-found\)/,
    )
    await refused([...tx('0x1234'), ...reason], bookInflowExitCodes.usage, /--tx must be/)
    await refused(
      ['--network', 'mainnet', '--tx', paid.transactionHash, ...reason],
      bookInflowExitCodes.usage,
      /no network named mainnet/,
    )
    await refused(
      [...tx(paid.transactionHash), '--log-index', log, '--force', ...reason],
      bookInflowExitCodes.usage,
      /Unknown option '--force'/,
    )
    // The chain cannot be read: not checked, and the RPC URL's secret part is never printed.
    const down = { ...network, rpcUrls: ['http://127.0.0.1:9/SECRET-KEY'] }
    await refused(
      [...tx(paid.transactionHash), '--log-index', log, ...reason],
      bookInflowExitCodes.unchecked,
      /could not check testnet/,
      down,
    )
    const output = (await bookInflow([...tx(paid.transactionHash), '--log-index', log, ...reason], down))
      .output
    expect(output).not.toMatch(/SECRET-KEY/)
    // Still a drift of the refused inflows' configured-token amount: nothing was booked.
    expect((await drifts())['USDT@testnet']).toBe(usdt(1n))
  })
})

// The chain balance the reconciliation compared is the token's own balanceOf (sanity of the reading above).
describe('the hot wallet on chain', () => {
  it('holds what the ledger books plus the one refused inflow', async () => {
    const onChain = await fixture.chain.publicClient.readContract({
      address: fixture.chain.tokens.usdt,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [hotWallet],
    })
    expect(onChain).toBe((await posted('hot-wallet', 'USDT@testnet')) + usdt(1n))
  })
})
