import { type Address, decodeFunctionResult, encodeFunctionData, erc20Abi, type Hex } from 'viem'
import type { NetworkConfig } from '../config/config.types.ts'
import { enqueueJob } from '../db/job-queue.ts'
import type { Pool } from '../db/pool.ts'
import { AssertionFailure, assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import { finalizedBlockNumber } from '../modules/chains/chain.service.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import { checkHotWallet, recordHotWalletCheck } from '../modules/reconciliation/reconciliation.service.ts'
import type { ReconciliationChain } from '../modules/reconciliation/reconciliation.types.ts'
import { findGatewayHotWalletAddress } from '../modules/sweeps/sweep.service.ts'
import type { JobHandler } from './runner.ts'

/**
 * Hot-wallet reconciliation (docs/adr/0027-chain-reconciliation.md). The periodic `reconcile-hot-wallets`
 * (scheduler.ts, every 60 s) enqueues one `reconcile-hot-wallet` job per network under the dedupe key
 * `reconcile-hot-wallet:<network>`: one run per network at a time, and a network whose RPC hangs holds
 * back only its own check. Any worker runs them: the hot wallet's address is read from the database, where
 * a signing worker recorded it, so no key is needed.
 */
export const reconcileHotWalletsJobKind = 'reconcile-hot-wallets'
export const reconcileHotWalletJobKind = 'reconcile-hot-wallet'

const hex = (value: bigint): Hex => `0x${value.toString(16)}`

/** The chain reads of a check on the network's RPC URLs, with their failover and timeouts (EvmRpc). */
export function createReconciliationChain(
  network: NetworkConfig,
  rpc = new EvmRpc(network),
): ReconciliationChain {
  return {
    network,
    chainId: async () => Number(BigInt(await rpc.call<Hex>('eth_chainId', []))),
    async blocks() {
      const head = await rpc.headBlockNumber()
      return { head, finalized: await finalizedBlockNumber(rpc, network, head) }
    },
    async tokenBalance(token: Address, holder: Address, block: bigint) {
      const data = encodeFunctionData({ abi: erc20Abi, functionName: 'balanceOf', args: [holder] })
      const answer = await rpc.call<Hex>('eth_call', [{ to: token, data }, hex(block)])
      return decodeFunctionResult({ abi: erc20Abi, functionName: 'balanceOf', data: answer })
    },
    nativeBalance: async (holder, block) =>
      BigInt(await rpc.call<Hex>('eth_getBalance', [holder, hex(block)])),
    transactionCount: async (holder, block) =>
      Number(BigInt(await rpc.call<Hex>('eth_getTransactionCount', [holder, hex(block)]))),
  }
}

export type ReconcileContext = Readonly<{
  pool: Pool
  logger: Logger
  networks: readonly NetworkConfig[]
  /** Tests wrap the chain to inject failures; default: createReconciliationChain. */
  chainFor?: (network: NetworkConfig) => ReconciliationChain
  now?: () => Date
}>

/**
 * One network's check, read and stored. Without a recorded hot wallet (no signing worker has started yet)
 * there is nothing to reconcile. Returns what was stored, or undefined.
 */
export function createReconcileRunner(context: ReconcileContext) {
  const chains = new Map<string, ReconciliationChain>()
  return async (networkName: string) => {
    const network = context.networks.find((candidate) => candidate.name === networkName)
    assert(network !== undefined, `reconciliation job for unconfigured network ${networkName}`)
    let chain = chains.get(networkName)
    if (chain === undefined) {
      chain = (context.chainFor ?? createReconciliationChain)(network)
      chains.set(networkName, chain)
    }
    const hotWalletAddress = await findGatewayHotWalletAddress(context.pool, networkName)
    if (hotWalletAddress === undefined) return undefined
    const check = await checkHotWallet({
      pool: context.pool,
      chain,
      hotWalletAddress,
      ...(context.now === undefined ? {} : { now: context.now }),
    })
    return { check, report: await recordHotWalletCheck(context.pool, check) }
  }
}

/**
 * `reconcile-hot-wallet`: one network's check. It never fails the job: chain failures are stored as failed
 * checks by the service, and anything else (the database) is logged and left to the next period, so the
 * job never goes dead and never retries into the next period's run. A failed assertion still propagates.
 */
export function createReconcileHotWalletHandler(context: ReconcileContext): JobHandler {
  const run = createReconcileRunner(context)
  return async (job) => {
    const network = job.payload.network
    assert(typeof network === 'string', 'reconcile-hot-wallet job without a network')
    const logger = context.logger.child({ network, job: reconcileHotWalletJobKind })
    try {
      const result = await run(network)
      if (result === undefined) {
        logger.debug('no hot wallet recorded yet: nothing to reconcile')
        return
      }
      const { report } = result
      if (report.failed > 0) logger.warn(report, 'hot-wallet reconciliation could not read every asset')
      if (report.opened > 0) logger.error(report, 'hot-wallet reconciliation incident opened')
      else if (report.drifts > 0) logger.info(report, 'hot-wallet drift seen (not persisting yet or known)')
    } catch (error) {
      if (error instanceof AssertionFailure) throw error
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'reconciliation failed')
    }
  }
}

/** `reconcile-hot-wallets` (periodic): one `reconcile-hot-wallet` job per network, unless one is live. */
export function createReconcileHotWalletsHandler(pool: Pool, networks: readonly NetworkConfig[]): JobHandler {
  return async () => {
    for (const network of networks)
      await enqueueJob(
        pool,
        reconcileHotWalletJobKind,
        { network: network.name },
        { dedupeKey: `${reconcileHotWalletJobKind}:${network.name}`, attemptsMax: 1 },
      )
  }
}

export function reconciliationHandlers(context: ReconcileContext): [string, JobHandler][] {
  return [
    [reconcileHotWalletsJobKind, createReconcileHotWalletsHandler(context.pool, context.networks)],
    [reconcileHotWalletJobKind, createReconcileHotWalletHandler(context)],
  ]
}
