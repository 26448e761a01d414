import type { Address } from 'viem'
import type { NetworkConfig } from '../config/config.types.ts'
import { enqueueJob } from '../db/job-queue.ts'
import type { Pool } from '../db/pool.ts'
import { AssertionFailure, assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import { finalizedBlockNumber } from '../modules/chains/chain.service.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { type BatchChain, createBatchChain } from '../modules/payouts/payout.batch.ts'
import type { RateTable } from '../modules/payouts/payout.fees.ts'
import { advancePayouts, type PayoutDeps, type PayoutTickReport } from '../modules/payouts/payout.send.ts'
import { createSweepChain } from '../modules/sweeps/sweep.chain.ts'
import { getGatewayHotWalletAddress } from '../modules/sweeps/sweep.service.ts'
import type { SweepChain } from '../modules/sweeps/sweep.types.ts'
import { type JobHandler, RetryLater } from './runner.ts'

export const sendPayoutsJobKind = 'send-payouts'
/** Payouts are waited for by people: a tick every 10 s (sweeps run every 30 s). */
const payoutIntervalMs = 10_000
const payoutRetryAfterFailureMs = 30_000

export type SendPayoutsContext = Readonly<{
  pool: Pool
  logger: Logger
  networks: readonly NetworkConfig[]
  masterKeyProvider: MasterKeyProvider
  chainFor?: (network: NetworkConfig) => SweepChain
  faults?: PayoutDeps['faults']
  replaceAfterMs?: number
  now?: () => Date
  /** The configuration's `rates`: price each payout's gas in its token for the cost KPI. */
  rates?: RateTable
}>

/** One payout run for one network: reads head and finality (the watcher's rule), then advances payouts. */
export function createPayoutRunner(context: SendPayoutsContext) {
  const chains = new Map<
    string,
    { network: NetworkConfig; chain: SweepChain; rpc: EvmRpc; batchChain: BatchChain | undefined }
  >()
  let hotWallet: Address | undefined
  return async (networkName: string): Promise<PayoutTickReport> => {
    let parts = chains.get(networkName)
    if (parts === undefined) {
      const network = context.networks.find((candidate) => candidate.name === networkName)
      assert(network !== undefined, `payout job for unconfigured network ${networkName}`)
      parts = {
        network,
        chain: (context.chainFor ?? createSweepChain)(network),
        rpc: new EvmRpc(network),
        // Batch payouts only where the network names our BatchTransfer contract (docs/adr/0015).
        batchChain: network.batchTransferAddress === undefined ? undefined : createBatchChain(network),
      }
      chains.set(networkName, parts)
    }
    hotWallet ??= await getGatewayHotWalletAddress(context.pool, context.masterKeyProvider)
    const headNumber = await parts.rpc.headBlockNumber()
    const finalizedNumber = await finalizedBlockNumber(parts.rpc, parts.network, headNumber)
    return await advancePayouts(
      {
        pool: context.pool,
        logger: context.logger.child({ network: networkName, job: sendPayoutsJobKind }),
        masterKeyProvider: context.masterKeyProvider,
        chain: parts.chain,
        hotWalletAddress: hotWallet,
        now: context.now ?? (() => new Date()),
        ...(parts.batchChain === undefined ? {} : { batchChain: parts.batchChain }),
        ...(context.faults === undefined ? {} : { faults: context.faults }),
        ...(context.replaceAfterMs === undefined ? {} : { replaceAfterMs: context.replaceAfterMs }),
        ...(context.rates === undefined ? {} : { rates: context.rates }),
      },
      { headNumber, finalizedNumber },
    )
  }
}

/** `send-payouts`: advances one network's payouts, then runs again (RetryLater), like `sweep-deposits`. */
export function createSendPayoutsHandler(context: SendPayoutsContext): JobHandler {
  const run = createPayoutRunner(context)
  return async (job) => {
    const network = job.payload.network
    assert(typeof network === 'string', 'send-payouts job without a network')
    try {
      const report = await run(network)
      if (report.sent + report.finalized + report.failed + report.blocked + report.replaced > 0)
        context.logger.info({ network, ...report }, 'payouts advanced')
    } catch (error) {
      if (error instanceof AssertionFailure) throw error
      context.logger.error(
        { network, err: error instanceof Error ? error.message : String(error) },
        'payout run failed',
      )
      throw new RetryLater(payoutRetryAfterFailureMs, 'payout run failed; retrying')
    }
    throw new RetryLater(payoutIntervalMs, 'next payout run')
  }
}

/** Enqueues one payout job per network (no-op when one exists): the worker calls this at start. */
export async function schedulePayouts(pool: Pool, networks: readonly NetworkConfig[]): Promise<void> {
  for (const network of networks)
    await enqueueJob(
      pool,
      sendPayoutsJobKind,
      { network: network.name },
      { dedupeKey: `${sendPayoutsJobKind}:${network.name}` },
    )
}
