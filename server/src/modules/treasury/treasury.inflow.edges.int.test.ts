import { type Address, parseAbiItem } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CustodyFixture, startCustodyFixture } from '../../../test/setup/custody-fixture.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { ChainWatcher } from '../../jobs/chain-watcher.ts'
import { createReconciliationChain } from '../../jobs/reconcile-hot-wallet.ts'
import { createSweepRunner } from '../../jobs/sweep-deposits.ts'
import { createInflowChain } from '../../jobs/treasury.ts'
import { createLogger } from '../../lib/logger.ts'
import { bookInflowExitCodes, runTreasuryCommand } from '../../main/commands/treasury.ts'
import { EvmRpc } from '../chains/evm-rpc.ts'
import { allocateDepositAddress } from '../payments/payment.service.ts'
import { checkHotWallet } from '../reconciliation/reconciliation.service.ts'
import { listSweeps, recordGatewayHotWallet } from '../sweeps/sweep.service.ts'
import { bookTopUpsFromCold } from './treasury.inflow.ts'
import type { InflowChain } from './treasury.types.ts'

// Found by a review of "inflows to the hot wallet are booked" (ADR 0016 decision 9), 2026-11-22, and fixed.
// The scan for top-ups from cold reads the finalized block, then eth_getLogs up to it, and moves its cursor past whatever the answer
// "covers" — without checking that the node which answered eth_getLogs has those blocks. Network RPCs
// fail over (EvmRpc): when the first URL fails between the two calls, the next URL answers, and a node a
// few blocks behind answers eth_getLogs for blocks it does not have yet with no logs (geth and most
// clients clamp the range to their head). The deposit watcher guards against exactly this (its range is
// recorded only if its end block's hash is still what it was when read; ADR 0011). The scan does not:
// the cursor skips the top-up for good, and it stays a reconciliation drift.

const usdt = (whole: bigint) => whole * 10n ** 6n
const silent = createLogger('silent')
const coldIndex = 15

let fixture: CustodyFixture
let network: NetworkConfig
let hotWallet: Address

/**
 * Two RPC URLs on the same anvil: `ahead` answers as anvil does until `aheadDown` is set (then HTTP 503),
 * `lagging` is a node whose head is `laggingHead`: eth_getLogs beyond it answers only up to it.
 */
function twoNodes(anvilUrl: string) {
  const state = { aheadDown: false, laggingHead: 0n, laggingGetLogs: 0 }
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input)
    const call = JSON.parse(String(init?.body)) as { id: number; method: string; params: unknown[] }
    if (url.startsWith('http://ahead')) {
      if (state.aheadDown) return new Response('unavailable', { status: 503 })
      return await fetch(anvilUrl, { ...init, signal: null })
    }
    // A node behind has no block past its head, as a real one (eth_getBlockByNumber answers null).
    if (call.method === 'eth_blockNumber')
      return Response.json({ jsonrpc: '2.0', id: call.id, result: `0x${state.laggingHead.toString(16)}` })
    if (call.method === 'eth_getBlockByNumber' && BigInt(String(call.params[0])) > state.laggingHead)
      return Response.json({ jsonrpc: '2.0', id: call.id, result: null })
    if (call.method === 'eth_getLogs') {
      state.laggingGetLogs += 1
      const filter = { ...(call.params[0] as { fromBlock: string; toBlock: string }) }
      if (BigInt(filter.fromBlock) > state.laggingHead)
        return Response.json({ jsonrpc: '2.0', id: call.id, result: [] })
      if (BigInt(filter.toBlock) > state.laggingHead) filter.toBlock = `0x${state.laggingHead.toString(16)}`
      const body = JSON.stringify({ ...call, params: [filter] })
      return await fetch(anvilUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    }
    return await fetch(anvilUrl, { ...init, signal: null })
  }
  return { state, fetchImpl }
}

async function topUpRows(): Promise<string[]> {
  const result = await fixture.database.pool.query<{ tx_hash: string }>(
    'select tx_hash from treasury_inflows order by booked_at',
  )
  return result.rows.map((row) => row.tx_hash)
}

async function cursorNext(): Promise<bigint> {
  const result = await fixture.database.pool.query<{ next_block: string }>(
    'select next_block from treasury_inflow_cursors where network = $1',
    [network.name],
  )
  return BigInt(result.rows[0]?.next_block ?? '-1')
}

async function scan(chain: InflowChain) {
  return await bookTopUpsFromCold({
    pool: fixture.database.pool,
    logger: silent,
    chain,
    hotWalletAddress: hotWallet,
  })
}

beforeAll(async () => {
  fixture = await startCustodyFixture()
  const cold = fixture.destination(coldIndex)
  network = {
    ...fixture.network,
    treasury: {
      coldAddress: cold,
      hotWallet: { USDT: { floorMinor: usdt(1_000_000n), ceilingMinor: usdt(2_000_000n) } },
    },
  }
  await fixture.chain.rpc('anvil_setBalance', [cold, `0x${(10n ** 18n).toString(16)}`])
  hotWallet = await recordGatewayHotWallet(fixture.database.pool, fixture.provider, [network])
  await fixture.fund('USDT', usdt(500n))
  await fixture.chain.mine(3)
}, 120_000)

afterAll(async () => {
  await fixture?.stop()
})

describe('the scan for top-ups from cold, when the RPC fails over to a node a few blocks behind', () => {
  it('does not move its cursor past a final top-up it never saw', {
    retry: 0,
    timeout: 180_000,
  }, async () => {
    // The scan starts (cursor at the finalized block) on a healthy RPC.
    await scan(createInflowChain(network))
    const started = await cursorNext()
    await fixture.chain.mine(3)
    const topUp = await fixture.chain.pay(fixture.chain.tokens.usdt, coldIndex, hotWallet, usdt(40n))
    await fixture.chain.mine(3)
    const topUpBlock = topUp.blockNumber
    expect(started).toBeLessThan(topUpBlock)

    const nodes = twoNodes(fixture.chain.anvil.rpcUrl)
    // The second node has not seen the top-up's block yet (it is 4 blocks behind the first).
    nodes.state.laggingHead = topUpBlock - 1n
    const twoUrlNetwork = { ...network, rpcUrls: ['http://ahead.invalid/', 'http://lagging.invalid/'] }
    const inner = createInflowChain(twoUrlNetwork, new EvmRpc(twoUrlNetwork, nodes.fetchImpl))
    const failingOver: InflowChain = {
      ...inner,
      // The first URL answers the finalized block, then goes down: the logs come from the second.
      finalizedBlock: async () => {
        const finalized = await inner.finalizedBlock()
        nodes.state.aheadDown = true
        return finalized
      },
    }
    // The node that answers lacks the range's end: the run fails (the job logs it) and books nothing.
    await expect(scan(failingOver)).rejects.toThrow(/no block/)
    expect(await topUpRows()).toEqual([])
    // Before the fix, the cursor moved past the top-up's block although no node that had it was asked.
    const afterFailover = await cursorNext()

    // The first URL is back: every later run goes on from the cursor.
    await fixture.chain.mine(2)
    await scan(createInflowChain(network))
    await scan(createInflowChain(network))

    expect({ cursorAfterFailover: afterFailover <= topUpBlock, booked: await topUpRows() }).toEqual({
      cursorAfterFailover: true,
      booked: [topUp.transactionHash],
    })
  })
})

// `sluice treasury book-inflow` promises one booking per chain fact "by either path" (the scan, the
// command), and checks only that the log is a final Transfer of a configured token to the hot wallet. A
// sweep (deposit address -> hot wallet) is such a log, already booked by the sweeps module (sweep-final)
// under another id: the command books it a second time, to operator capital, and the hot wallet's ledger
// account then holds more than the chain (a negative drift the command created).
describe('sluice treasury book-inflow on a sweep the ledger already booked', () => {
  it('refuses it (the chain fact is booked already), writing nothing', {
    retry: 0,
    timeout: 180_000,
  }, async () => {
    const watcher = new ChainWatcher({ pool: fixture.database.pool, network, logger: silent })
    const catchUp = async () => {
      await fixture.chain.mine(3)
      for (let index = 0; index < 20; index += 1) if ((await watcher.tick()) === 'caught-up') return
      throw new Error('watcher did not catch up')
    }
    await catchUp()
    const deposit = (
      await allocateDepositAddress(fixture.database.pool, {
        merchantId: fixture.merchantId,
        ownerKind: 'customer',
        ownerId: 'cus_review2',
      })
    ).address as Address
    await fixture.chain.pay(fixture.chain.tokens.usdt, 4, deposit, usdt(20n))
    await catchUp()
    const sweep = createSweepRunner({
      pool: fixture.database.pool,
      logger: silent,
      networks: [network],
      masterKeyProvider: fixture.provider,
    })
    for (let index = 0; index < 10; index += 1) {
      await sweep(network.name)
      if ((await listSweeps(fixture.database.pool, { network: network.name }))[0]?.status === 'finalized')
        break
      await fixture.chain.mine(3)
    }
    expect((await listSweeps(fixture.database.pool, { network: network.name }))[0]?.status).toBe('finalized')
    await fixture.chain.mine(3)
    const [swept] = await fixture.chain.publicClient.getLogs({
      address: fixture.chain.tokens.usdt,
      event: parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)'),
      args: { from: deposit, to: hotWallet },
      fromBlock: 0n,
    })
    if (swept === undefined) throw new Error('no sweep log')
    const usdtDrift = async () => {
      const check = await checkHotWallet({
        pool: fixture.database.pool,
        chain: createReconciliationChain(network),
        hotWalletAddress: hotWallet,
      })
      const entry = check.assets.find((asset) => asset.asset.assetId === 'USDT@testnet')
      return entry?.status === 'failed' ? entry.error : entry?.drift
    }
    const before = await usdtDrift()

    const lines: string[] = []
    const code = await runTreasuryCommand(
      [
        'book-inflow',
        '--network',
        network.name,
        '--tx',
        swept.transactionHash,
        '--log-index',
        String(swept.logIndex),
        '--reason',
        'OPS-7 unexplained inflow',
      ],
      { pool: fixture.database.pool, networks: [network], write: (line) => lines.push(line) },
    )
    // Found: code 0 "booked: … booked as operator capital", and the USDT drift goes from `before` to
    // `before - 20` (the ledger's hot wallet holds the sweep twice).
    expect({ code, drift: await usdtDrift(), output: lines[0] }).toEqual({
      code: bookInflowExitCodes.refused,
      drift: before,
      output: expect.stringMatching(/refused/),
    })
  })
})
