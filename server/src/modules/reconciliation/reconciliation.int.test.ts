import type { FastifyInstance } from 'fastify'
import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CustodyFixture, startCustodyFixture } from '../../../test/setup/custody-fixture.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { buildApp } from '../../http/app.ts'
import { createMetrics } from '../../http/metrics.ts'
import { ChainWatcher } from '../../jobs/chain-watcher.ts'
import {
  createReconcileHotWalletHandler,
  createReconcileHotWalletsHandler,
  createReconcileRunner,
  createReconciliationChain,
  reconcileHotWalletJobKind,
} from '../../jobs/reconcile-hot-wallet.ts'
import { createPayoutRunner } from '../../jobs/send-payouts.ts'
import { createSweepRunner } from '../../jobs/sweep-deposits.ts'
import { createLogger } from '../../lib/logger.ts'
import { runReconcileCommand } from '../../main/commands/reconcile.ts'
import { createTransfer, getOrCreateSystemAccount, verifyLedger } from '../ledger/ledger.service.ts'
import { allocateDepositAddress } from '../payments/payment.service.ts'
import { listSweeps, recordGatewayHotWallet } from '../sweeps/sweep.service.ts'
import { listReconciliationIncidents } from './reconciliation.service.ts'
import type { AssetCheck, ReconciliationChain } from './reconciliation.types.ts'

// Reconciliation of the hot wallet on a real anvil chain against a real PostgreSQL ledger: real payouts and
// sweeps (with gas top-ups) leave no drift, to the unit, in the tokens and the native coin; a third party's
// transfer is a drift of exactly its amount, an incident only once it persists (one event each way, and the
// metric); an RPC failure is a failed check, never an incident; `sluice reconcile` exits 1 on drift, 0 without.
const usdt = (whole: bigint, units = 0n) => whole * 10n ** 6n + units
const silent = createLogger('silent')
const minuteMs = 60_000

let fixture: CustodyFixture
let network: NetworkConfig
let hotWallet: Address
let app: FastifyInstance
let watcher: ChainWatcher
// Checks are dated on this clock, one minute apart: the persistence rule is about time.
let clockMs = Date.now() - 6 * 3_600_000
const nextMinute = () => {
  clockMs += minuteMs
  return new Date(clockMs)
}

const usdtAsset = 'USDT@testnet'
const ethAsset = 'ETH@testnet'

/** One stored check of the network, as the job runs it. */
async function check(
  options: { view?: NetworkConfig; chainFor?: (n: NetworkConfig) => ReconciliationChain } = {},
) {
  const view = options.view ?? network
  const run = createReconcileRunner({
    pool: fixture.database.pool,
    logger: silent,
    networks: [view],
    now: nextMinute,
    ...(options.chainFor === undefined ? {} : { chainFor: options.chainFor }),
  })
  const result = await run(view.name)
  if (result === undefined) throw new Error('no hot wallet recorded')
  return result
}

function asset(checked: { assets: readonly AssetCheck[] }, assetId: string) {
  const found = checked.assets.find((entry) => entry.asset.assetId === assetId)
  if (found === undefined) throw new Error(`${assetId} not checked`)
  return found
}

/** Books an inflow nobody explained yet, as an operator would: hot wallet / suspense (ADR 0012). */
async function bookToSuspense(assetId: string, amount: bigint, reference: string): Promise<void> {
  const pool = fixture.database.pool
  await createTransfer(pool, {
    kind: 'single',
    id: `test-unknown-inflow:${reference}`,
    debitAccountId: (await getOrCreateSystemAccount(pool, 'hot-wallet', assetId)).id,
    creditAccountId: (await getOrCreateSystemAccount(pool, 'suspense', assetId)).id,
    assetId,
    amount,
    code: 'test-unknown-inflow',
  })
}

async function eventsOf(subjectId: string) {
  const result = await fixture.database.pool.query<{
    type: string
    merchant_id: string | null
    payload: Record<string, string>
  }>('select type, merchant_id, payload from events where subject_id = $1 order by sequence', [subjectId])
  return result.rows
}

async function reconciliationEventCount(): Promise<number> {
  const result = await fixture.database.pool.query<{ count: string }>(
    "select count(*)::text as count from events where type like 'reconciliation.%'",
  )
  return Number(result.rows[0]?.count)
}

async function metricLine(name: string, assetId: string): Promise<string | undefined> {
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  return response.body
    .split('\n')
    .find((line) => line.startsWith(`${name}{network="testnet",asset="${assetId}"}`))
}

/** Runs the payout job, mining past finality between runs, until the payout is final. */
async function payOut(to: Address, amount: string) {
  const payout = await fixture.approve(await fixture.request(to, amount))
  const run = createPayoutRunner({
    pool: fixture.database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: fixture.provider,
    now: fixture.now,
  })
  for (let index = 0; index < 6; index += 1) {
    await run(network.name)
    if ((await fixture.payout(payout.id)).status === 'finalized') return
    await fixture.chain.mine(3)
  }
  throw new Error(`payout ${payout.id} did not finalize: ${(await fixture.payout(payout.id)).status}`)
}

async function catchUp(): Promise<void> {
  await fixture.chain.mine(3)
  for (let index = 0; index < 20; index += 1) if ((await watcher.tick()) === 'caught-up') return
  throw new Error('watcher did not catch up')
}

beforeAll(async () => {
  fixture = await startCustodyFixture()
  network = fixture.network
  // What a signing worker does at start; the reconciliation job reads the address from here.
  hotWallet = await recordGatewayHotWallet(fixture.database.pool, fixture.provider, [network])
  await fixture.fund('USDT', usdt(1_000n))
  watcher = new ChainWatcher({ pool: fixture.database.pool, network, logger: silent })
  await catchUp()
  app = await buildApp({
    pool: fixture.database.pool,
    logger: silent,
    metrics: createMetrics(),
    networks: [network],
  })
})

afterAll(async () => {
  await app?.close()
  await fixture?.stop()
})

describe('after real payouts and sweeps', () => {
  it('the ledger equals the chain to the unit, for the tokens and the native coin, also with a gas top-up booked before it is final', async () => {
    await payOut(fixture.destination(3), '25.5')
    await fixture.chain.mine(8)
    const deposit = (
      await allocateDepositAddress(fixture.database.pool, {
        merchantId: fixture.merchantId,
        ownerKind: 'customer',
        ownerId: 'cus_reconcile',
      })
    ).address as Address
    await fixture.chain.pay(fixture.chain.tokens.usdt, 4, deposit, usdt(20n, 123n))
    await catchUp()
    const sweep = createSweepRunner({
      pool: fixture.database.pool,
      logger: silent,
      networks: [network],
      masterKeyProvider: fixture.provider,
    })
    // Run 1 funds the sweep's gas (top-up mined at once on automine); run 2 books the top-up at its receipt
    // and sends the sweep. Seen through a node six blocks behind, the top-up is not final yet: the ledger
    // has spent what the chain at that block still holds.
    await sweep(network.name)
    await sweep(network.name)
    const [open] = await listSweeps(fixture.database.pool, { network: network.name })
    expect(open?.status).toBe('sent')
    const lagging = { ...network, finality: { kind: 'confirmations' as const, confirmations: 6 } }
    const inFlight = await check({ view: lagging })
    const native = asset(inFlight.check, ethAsset)
    expect(native.status).toBe('matched')
    if (native.status === 'failed') throw new Error('unreachable')
    expect(native.bookedAhead).toBeGreaterThan(0n)
    expect(native.moving).toBe(true)
    expect(asset(inFlight.check, usdtAsset).status).toBe('matched')

    for (let index = 0; index < 6; index += 1) {
      await fixture.chain.mine(3)
      await sweep(network.name)
    }
    expect((await listSweeps(fixture.database.pool, { network: network.name }))[0]?.status).toBe('finalized')
    await fixture.chain.mine(3)
    const { check: settled, report } = await check()
    expect(report).toMatchObject({ matched: 3, drifts: 0, failed: 0, opened: 0 })
    const publicClient = fixture.chain.publicClient
    for (const entry of settled.assets) {
      expect(entry.status).toBe('matched')
      if (entry.status === 'failed') continue
      expect(entry.drift).toBe(0n)
      expect(entry.bookedAhead).toBe(0n)
      // The chain side read independently (viem, at the same block), so the check's own reads are checked too.
      const atBlock =
        entry.asset.tokenAddress === undefined
          ? await publicClient.getBalance({ address: hotWallet, blockNumber: entry.blockNumber })
          : await publicClient.readContract({
              address: entry.asset.tokenAddress,
              abi: [
                {
                  type: 'function',
                  name: 'balanceOf',
                  stateMutability: 'view',
                  inputs: [{ type: 'address' }],
                  outputs: [{ type: 'uint256' }],
                },
              ],
              functionName: 'balanceOf',
              args: [hotWallet],
              blockNumber: entry.blockNumber,
            })
      expect(entry.chainBalance).toBe(atBlock)
      expect(entry.ledgerBalance).toBe(atBlock)
    }
    // Real figures moved: 1,000 funded − 25.5 paid out + the 20.000123 swept in; gas was burnt.
    expect(asset(settled, usdtAsset)).toMatchObject({ chainBalance: usdt(994n, 500_123n) })
    expect((asset(settled, ethAsset) as { chainBalance: bigint }).chainBalance).toBeLessThan(10n * 10n ** 18n)
    expect((await verifyLedger(fixture.database.pool)).drifts).toHaveLength(0)
  })
})

describe('a third party sends tokens to the hot wallet', () => {
  it('a drift of exactly the amount; a transient one is recorded, never an incident', async () => {
    const amount = usdt(3n, 1n)
    await fixture.chain.pay(fixture.chain.tokens.usdt, 5, hotWallet, amount)
    await fixture.chain.mine(3)
    const events = await reconciliationEventCount()
    for (let index = 0; index < 2; index += 1) {
      const { check: seen, report } = await check()
      expect(asset(seen, usdtAsset)).toMatchObject({ status: 'drift', drift: amount, moving: false })
      expect(asset(seen, ethAsset).status).toBe('matched')
      expect(report).toMatchObject({ drifts: 1, opened: 0 })
    }
    // Booked (explained) before the rule is met: gone, and nothing was ever alerted.
    await bookToSuspense(usdtAsset, amount, 'transient')
    const { check: after } = await check()
    expect(asset(after, usdtAsset).status).toBe('matched')
    expect(await reconciliationEventCount()).toBe(events)
    expect(await listReconciliationIncidents(fixture.database.pool, { openOnly: true })).toHaveLength(0)
    const stored = await fixture.database.pool.query<{ status: string; drift: string }>(
      `select status, drift::text from reconciliation_checks where asset_id = $1 order by id desc limit 3`,
      [usdtAsset],
    )
    expect(stored.rows).toEqual([
      { status: 'matched', drift: '0' },
      { status: 'drift', drift: amount.toString() },
      { status: 'drift', drift: amount.toString() },
    ])
  })

  it('a persisting drift opens one incident (one event, the metric), and booking it clears it (one event)', async () => {
    const amount = usdt(42n, 7n)
    await fixture.chain.pay(fixture.chain.tokens.usdt, 6, hotWallet, amount)
    await fixture.chain.mine(3)
    const opened: number[] = []
    for (let index = 0; index < 8; index += 1) opened.push((await check()).report.opened)
    // One a minute, the same drift: the 6th check is the first whose streak spans 5 minutes; never again.
    expect(opened).toEqual([0, 0, 0, 0, 0, 1, 0, 0])
    const [incident, ...others] = await listReconciliationIncidents(fixture.database.pool, { openOnly: true })
    expect(others).toHaveLength(0)
    expect(incident).toMatchObject({ assetId: usdtAsset, openingDrift: amount, latestDrift: amount })
    const events = await eventsOf(incident!.id)
    expect(events.map((event) => [event.type, event.merchant_id])).toEqual([
      ['reconciliation.incident_opened', null],
    ])
    expect(events[0]?.payload).toMatchObject({
      asset: usdtAsset,
      drift_minor: amount.toString(),
      network: 'testnet',
    })
    expect(await metricLine('sluice_reconciliation_drift_detected', usdtAsset)).toMatch(/ 1$/)
    expect(await metricLine('sluice_reconciliation_drift_sign', usdtAsset)).toMatch(/ 1$/)
    expect(await metricLine('sluice_reconciliation_drift_detected', ethAsset)).toMatch(/ 0$/)
    expect(await metricLine('sluice_reconciliation_last_check_age_seconds', usdtAsset)).toBeDefined()

    await bookToSuspense(usdtAsset, amount, 'persisting')
    const { report } = await check()
    expect(report).toMatchObject({ cleared: 1, drifts: 0 })
    await check()
    expect(await listReconciliationIncidents(fixture.database.pool, { openOnly: true })).toHaveLength(0)
    expect((await eventsOf(incident!.id)).map((event) => event.type)).toEqual([
      'reconciliation.incident_opened',
      'reconciliation.incident_cleared',
    ])
    expect(await metricLine('sluice_reconciliation_drift_detected', usdtAsset)).toMatch(/ 0$/)
  })
})

describe('RPC failures during a check', () => {
  it('are failed checks: stored with the reason, no drift, no incident, never a crash of the job', async () => {
    const amount = usdt(1n)
    await fixture.chain.pay(fixture.chain.tokens.usdt, 7, hotWallet, amount)
    await fixture.chain.mine(3)
    const events = await reconciliationEventCount()
    // Every URL down (a real EvmRpc to a closed port): every asset failed, with why.
    const down = { ...network, rpcUrls: ['http://127.0.0.1:9'] }
    const offline = await check({ view: down })
    expect(offline.report).toMatchObject({ failed: 3, drifts: 0, matched: 0, opened: 0 })
    expect(asset(offline.check, usdtAsset)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/RPC URL/),
    })
    // One read failing mid-check (balanceOf times out): that asset failed, the others checked.
    const flaky = (configured: NetworkConfig): ReconciliationChain => {
      const real = createReconciliationChain(configured)
      return {
        ...real,
        network: configured,
        tokenBalance: async (token, holder, block) => {
          if (token === fixture.chain.tokens.usdt) throw new Error('timeout reading balanceOf')
          return await real.tokenBalance(token, holder, block)
        },
      }
    }
    // A node serving another chain is not believed either.
    const wrongChain = (configured: NetworkConfig): ReconciliationChain => ({
      ...createReconciliationChain(configured),
      chainId: async () => 1,
    })
    // Enough failed checks to span the persistence window twice over: they neither count nor open.
    for (let index = 0; index < 6; index += 1) {
      const { check: partial } = await check({ chainFor: index % 2 === 0 ? flaky : wrongChain })
      expect(asset(partial, usdtAsset).status).toBe('failed')
      expect(asset(partial, ethAsset).status).toBe(index % 2 === 0 ? 'matched' : 'failed')
    }
    expect(await reconciliationEventCount()).toBe(events)
    expect(await listReconciliationIncidents(fixture.database.pool, { openOnly: true })).toHaveLength(0)
    const failed = await fixture.database.pool.query<{ error: string }>(
      `select error from reconciliation_checks where asset_id = $1 and status = 'failed' order by id desc limit 2`,
      [usdtAsset],
    )
    expect(failed.rows.map((row) => row.error)).toEqual([
      expect.stringMatching(/serves chain 1/),
      expect.stringMatching(/timeout reading balanceOf/),
    ])
    // The job itself: an RPC that throws on every call, and a database error, end the run quietly.
    const broken = (configured: NetworkConfig): ReconciliationChain => ({
      network: configured,
      chainId: () => Promise.reject(new Error('socket hang up')),
      blocks: () => Promise.reject(new Error('socket hang up')),
      tokenBalance: () => Promise.reject(new Error('socket hang up')),
      nativeBalance: () => Promise.reject(new Error('socket hang up')),
      transactionCount: () => Promise.reject(new Error('socket hang up')),
    })
    const handler = createReconcileHotWalletHandler({
      pool: fixture.database.pool,
      logger: silent,
      networks: [network],
      chainFor: broken,
      now: nextMinute,
    })
    const job = {
      id: '1',
      kind: reconcileHotWalletJobKind,
      payload: { network: 'testnet' },
      attempts: 1,
      attemptsMax: 1,
    }
    await expect(handler(job, new AbortController().signal)).resolves.toBeUndefined()
    expect(await listReconciliationIncidents(fixture.database.pool, { openOnly: true })).toHaveLength(0)
    await bookToSuspense(usdtAsset, amount, 'rpc-failures')
    expect((await check()).report).toMatchObject({ matched: 3 })
  })

  it('the periodic job enqueues one check per network, and not a second while one is live', async () => {
    const enqueue = createReconcileHotWalletsHandler(fixture.database.pool, [network])
    const job = { id: '2', kind: 'reconcile-hot-wallets', payload: {}, attempts: 1, attemptsMax: 3 }
    await enqueue(job, new AbortController().signal)
    await enqueue(job, new AbortController().signal)
    const queued = await fixture.database.pool.query<{ dedupe_key: string }>(
      'select dedupe_key from jobs where kind = $1',
      [reconcileHotWalletJobKind],
    )
    expect(queued.rows).toEqual([{ dedupe_key: 'reconcile-hot-wallet:testnet' }])
    await fixture.database.pool.query('delete from jobs where kind = $1', [reconcileHotWalletJobKind])
  })
})

describe('sluice reconcile', () => {
  async function reconcile(networks: readonly NetworkConfig[] = [network]) {
    const lines: string[] = []
    const code = await runReconcileCommand({
      pool: fixture.database.pool,
      networks,
      write: (line) => lines.push(line),
    })
    return { code, output: lines.join('\n') }
  }

  async function storedChecks(): Promise<string | undefined> {
    const result = await fixture.database.pool.query<{ count: string }>(
      'select count(*)::text as count from reconciliation_checks',
    )
    return result.rows[0]?.count
  }

  it('exits 1 on a drift (saying when it may be in flight), 0 when ledger equals chain, 2 when it cannot check', async () => {
    const clean = await reconcile()
    expect(clean.code).toBe(0)
    expect(clean.output).toMatch(/USDT@testnet: chain (\d+) \([\d.]+\) {2}ledger \1 .* drift 0 \(0\)/)
    expect(clean.output).toMatch(/ETH@testnet: chain (\d+) \([\d.]+\) {2}ledger \1 .* drift 0 \(0\)/)
    const stored = await storedChecks()
    // Booked in the ledger, on chain only at the head so far: not final at the block, and moving.
    const amount = usdt(2n, 5n)
    await bookToSuspense(usdtAsset, amount, 'cli')
    await fixture.chain.pay(fixture.chain.tokens.usdt, 8, hotWallet, amount)
    const inFlight = await reconcile()
    expect(inFlight.code).toBe(1)
    expect(inFlight.output).toMatch(/USDT@testnet: .* drift -2000005 \(-2\.000005\)/)
    expect(inFlight.output).toMatch(/may be in flight/)
    await fixture.chain.mine(3)
    expect((await reconcile()).code).toBe(0)
    // Nothing stored: the command reports, the job alerts.
    expect(await storedChecks()).toBe(stored)
    const down = await reconcile([{ ...network, rpcUrls: ['http://127.0.0.1:9'] }])
    expect(down.code).toBe(2)
    expect(down.output).toMatch(/not checked/)
  })
})
