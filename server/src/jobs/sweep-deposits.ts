import type { Address } from 'viem'
import type { NetworkConfig } from '../config/config.types.ts'
import { enqueueJob } from '../db/job-queue.ts'
import type { Pool } from '../db/pool.ts'
import { AssertionFailure, assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import { finalizedBlockNumber } from '../modules/chains/chain.service.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { createSweepChain } from '../modules/sweeps/sweep.chain.ts'
import { sweepLimits } from '../modules/sweeps/sweep.limits.ts'
import { advanceSweeps, getGatewayHotWalletAddress } from '../modules/sweeps/sweep.service.ts'
import type { SweepChain, SweepFaults, SweepTickReport } from '../modules/sweeps/sweep.types.ts'
import { type JobHandler, RetryLater } from './runner.ts'

export const sweepDepositsJobKind = 'sweep-deposits'

export type SweepDepositsContext = Readonly<{
  pool: Pool
  logger: Logger
  networks: readonly NetworkConfig[]
  masterKeyProvider: MasterKeyProvider
  /** Tests wrap the chain to inject faults or count calls; production uses createSweepChain. */
  chainFor?: (network: NetworkConfig) => SweepChain
  /** Test-only crash points (sweep.types.ts). */
  faults?: SweepFaults
  /** The clock stuck top-ups are judged on (tests move it); default: the system clock. */
  now?: () => Date
  /** Overrides sweepLimits.topUpReplaceAfterMs (tests). */
  replaceAfterMs?: number
}>

type NetworkParts = { network: NetworkConfig; chain: SweepChain; rpc: EvmRpc }

/**
 * One sweep run for one network, without the job's rescheduling: reads the head and the network's
 * finality (the watcher's rule, chain.service.ts), then advances every sweep (sweep.service.ts). Tests
 * call this directly; a fault thrown by `faults` propagates like a crash.
 */
export function createSweepRunner(context: SweepDepositsContext) {
  const parts = new Map<string, NetworkParts>()
  let hotWallet: Address | undefined
  const partsOf = (name: string): NetworkParts => {
    const known = parts.get(name)
    if (known !== undefined) return known
    const network = context.networks.find((candidate) => candidate.name === name)
    assert(network !== undefined, `sweep job for unconfigured network ${name}`)
    const created = {
      network,
      chain: (context.chainFor ?? createSweepChain)(network),
      rpc: new EvmRpc(network),
    }
    parts.set(name, created)
    return created
  }
  return async (networkName: string): Promise<SweepTickReport> => {
    const { chain, rpc, network } = partsOf(networkName)
    hotWallet ??= await getGatewayHotWalletAddress(context.pool, context.masterKeyProvider)
    const headNumber = await rpc.headBlockNumber()
    const finalizedNumber = await finalizedBlockNumber(rpc, network, headNumber)
    return await advanceSweeps(
      {
        pool: context.pool,
        logger: context.logger.child({ network: networkName, job: sweepDepositsJobKind }),
        masterKeyProvider: context.masterKeyProvider,
        chain,
        hotWalletAddress: hotWallet,
        ...(context.faults === undefined ? {} : { faults: context.faults }),
        ...(context.now === undefined ? {} : { now: context.now }),
        ...(context.replaceAfterMs === undefined ? {} : { replaceAfterMs: context.replaceAfterMs }),
      },
      { headNumber, finalizedNumber },
    )
  }
}

function networkOf(payload: Record<string, unknown>): string {
  const network = payload.network
  assert(typeof network === 'string', 'sweep-deposits job without a network')
  return network
}

/**
 * `sweep-deposits`: advances one network's sweeps, then asks the runner to run it again in
 * sweepIntervalMs (RetryLater), so the job never finishes and its dedupe key keeps exactly one per
 * network. A failed run (RPC outage, database error) is logged and retried later the same way, so the
 * job never goes dead; a failed assertion still propagates and stops the worker.
 */
export function createSweepDepositsHandler(context: SweepDepositsContext): JobHandler {
  const run = createSweepRunner(context)
  return async (job) => {
    const network = networkOf(job.payload)
    try {
      const report = await run(network)
      if (report.planned + report.sent + report.replaced + report.finalized + report.failed > 0)
        context.logger.info({ network, ...report }, 'sweeps advanced')
    } catch (error) {
      if (error instanceof AssertionFailure) throw error
      context.logger.error(
        { network, err: error instanceof Error ? error.message : String(error) },
        'sweep run failed',
      )
      throw new RetryLater(sweepLimits.sweepRetryAfterFailureMs, 'sweep run failed; retrying')
    }
    throw new RetryLater(sweepLimits.sweepIntervalMs, 'next sweep run')
  }
}

/** Enqueues one sweep job per network (no-op for a network that has one): the worker calls this at start. */
export async function scheduleSweeps(pool: Pool, networks: readonly NetworkConfig[]): Promise<void> {
  for (const network of networks) {
    await enqueueJob(
      pool,
      sweepDepositsJobKind,
      { network: network.name },
      { dedupeKey: `${sweepDepositsJobKind}:${network.name}` },
    )
  }
}
