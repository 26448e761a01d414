import type { Address, Hex } from 'viem'
import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { AssertionFailure } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import { finalizedBlockNumber } from '../modules/chains/chain.service.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import {
  decodeTransferLog,
  getLogsShrinking,
  type RawLog,
  transferTopic,
} from '../modules/chains/transfer-logs.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { createNetworkSigner } from '../modules/signers/signer.service.ts'
import type { Signer } from '../modules/signers/signer.types.ts'
import { createSweepChain } from '../modules/sweeps/sweep.chain.ts'
import { getGatewayHotWalletAddress } from '../modules/sweeps/sweep.service.ts'
import type { SweepChain } from '../modules/sweeps/sweep.types.ts'
import { bookTopUpsFromCold, type TopUpScanDeps } from '../modules/treasury/treasury.inflow.ts'
import { advanceSweepsToCold, type SendDeps } from '../modules/treasury/treasury.send.ts'
import { watchTreasury } from '../modules/treasury/treasury.service.ts'
import type { InflowChain, InflowTransaction } from '../modules/treasury/treasury.types.ts'
import type { JobHandler } from './runner.ts'

/**
 * Treasury jobs (docs/adr/0016-signers-and-cold-wallet.md), both periodic (scheduler.ts): `watch-treasury`
 * books final top-ups from cold (decision 9), then reads the hot and cold balances and proposes top-ups
 * and sweeps to cold; `send-treasury-sweeps` signs and sends approved sweeps, replaces stuck ones at their
 * nonce, and settles mined ones. Both need the hot wallet's address, hence the master key: they run on
 * signer workers only.
 */
export const watchTreasuryJobKind = 'watch-treasury'
export const sendTreasurySweepsJobKind = 'send-treasury-sweeps'

export type TreasuryJobContext = Readonly<{
  pool: Pool
  logger: Logger
  networks: readonly NetworkConfig[]
  masterKeyProvider: MasterKeyProvider
  chainFor?: (network: NetworkConfig) => SweepChain
  /** Test override; default: each network's configured signer. */
  signerFor?: (network: NetworkConfig) => Promise<Signer>
  /** The clock proposals are dated on and stuck sweeps to cold judged by; default: the system clock. */
  now?: () => Date
  /** Overrides treasuryLimits.sweepReplaceAfterMs (tests). */
  replaceAfterMs?: number
  /** Test-only crash points of sending sweeps to cold. */
  faults?: SendDeps['faults']
  /** Test override of the chain the scan for top-ups from cold reads; default: createInflowChain. */
  inflowChainFor?: (network: NetworkConfig) => InflowChain
  /** Test-only crash point of the scan for top-ups from cold. */
  inflowFaults?: TopUpScanDeps['faults']
}>

const hex = (value: bigint): Hex => `0x${value.toString(16)}`
const topicOf = (value: Address): Hex => `0x${value.slice(2).toLowerCase().padStart(64, '0')}`

type RpcTransaction = {
  hash: string
  from: string
  to: string | null
  value: string
}
type RpcReceipt = { status: string; blockNumber: string; logs: RawLog[] }

/** The transaction and its receipt, or undefined while either is unknown (not mined, or no such hash). */
async function readTransaction(rpc: EvmRpc, hash: Hex): Promise<InflowTransaction | undefined> {
  const transaction = await rpc.call<RpcTransaction | null>('eth_getTransactionByHash', [hash])
  const receipt = await rpc.call<RpcReceipt | null>('eth_getTransactionReceipt', [hash])
  if (transaction === null || receipt === null) return undefined
  return {
    hash: transaction.hash.toLowerCase() as Hex,
    blockNumber: BigInt(receipt.blockNumber),
    success: BigInt(receipt.status) === 1n,
    from: transaction.from.toLowerCase() as Address,
    to: transaction.to === null ? null : (transaction.to.toLowerCase() as Address),
    value: BigInt(transaction.value),
    logs: receipt.logs.map((log) => {
      const transfer = decodeTransferLog(log)
      return {
        logIndex: Number.parseInt(log.logIndex, 16),
        address: log.address.toLowerCase() as Address,
        transfer:
          transfer === undefined
            ? undefined
            : { from: transfer.from as Address, to: transfer.to as Address, amount: transfer.amount },
      }
    }),
  }
}

/** The hash of a block the node has; throws when it has none (behind, or pruned). */
async function blockHashAt(rpc: EvmRpc, blockNumber: bigint): Promise<string> {
  const block = await rpc.call<{ hash: string } | null>('eth_getBlockByNumber', [hex(blockNumber), false])
  if (block === null) throw new Error(`the node has no block ${blockNumber} yet: not scanned`)
  return block.hash.toLowerCase()
}

/** What booking inflows reads, on the network's RPC URLs with their failover and timeouts (EvmRpc). */
export function createInflowChain(network: NetworkConfig, rpc = new EvmRpc(network)): InflowChain {
  return {
    network,
    chainId: async () => Number(BigInt(await rpc.call<Hex>('eth_chainId', []))),
    finalizedBlock: async () => await finalizedBlockNumber(rpc, network, await rpc.headBlockNumber()),
    async blockTime(blockNumber) {
      const block = await rpc.call<{ timestamp: string } | null>('eth_getBlockByNumber', [
        hex(blockNumber),
        false,
      ])
      if (block === null) throw new Error(`${network.name} has no block ${blockNumber}`)
      return new Date(Number(BigInt(block.timestamp)) * 1000)
    },
    async transferLogs(range, filter) {
      // The range's end is read before and after the logs: a node that lacks it (one a few blocks behind,
      // after a failover between the finalized read and this one) answers eth_getLogs with none for blocks
      // it has not seen, and the cursor would skip a top-up for good. As the deposit watcher (ADR 0011).
      const endBefore = await blockHashAt(rpc, range.toBlock)
      const { logs, coveredToBlock } = await getLogsShrinking(rpc, range, {
        address: filter.tokens,
        topics: [transferTopic, topicOf(filter.from), topicOf(filter.to)],
      })
      const endAfter = await blockHashAt(rpc, coveredToBlock)
      if (coveredToBlock === range.toBlock && endAfter !== endBefore)
        throw new Error(`${network.name}: block ${range.toBlock} changed while its logs were read`)
      const decoded = logs.flatMap((log) => {
        const transfer = log.removed === true ? undefined : decodeTransferLog(log)
        return transfer === undefined
          ? []
          : [
              {
                blockNumber: transfer.blockNumber,
                txHash: transfer.txHash as Hex,
                logIndex: transfer.logIndex,
                tokenAddress: transfer.tokenAddress as Address,
                from: transfer.from as Address,
                to: transfer.to as Address,
                amount: transfer.amount,
              },
            ]
      })
      return { logs: decoded, coveredToBlock }
    },
    transaction: async (hash) => await readTransaction(rpc, hash),
  }
}

function treasuryParts(context: TreasuryJobContext) {
  const chains = new Map<string, SweepChain>()
  // Kept across runs, as the sweep chains: an RPC's failover state outlives one run.
  const inflowChains = new Map<string, InflowChain>()
  let hotWallet: Address | undefined
  return {
    inflowChain(network: NetworkConfig): InflowChain {
      let chain = inflowChains.get(network.name)
      if (chain === undefined) {
        chain = (context.inflowChainFor ?? createInflowChain)(network)
        inflowChains.set(network.name, chain)
      }
      return chain
    },
    chain(network: NetworkConfig): SweepChain {
      let chain = chains.get(network.name)
      if (chain === undefined) {
        chain = (context.chainFor ?? createSweepChain)(network)
        chains.set(network.name, chain)
      }
      return chain
    },
    async hotWallet(): Promise<Address> {
      hotWallet ??= await getGatewayHotWalletAddress(context.pool, context.masterKeyProvider)
      return hotWallet
    },
  }
}

/**
 * Books final top-ups from cold on one network. A chain failure is logged and left to the next run (the
 * cursor stays where it was): it must not keep the balances and proposals from being watched.
 */
async function bookNetworkTopUps(context: TreasuryJobContext, chain: InflowChain, hotWalletAddress: Address) {
  const network = chain.network
  const logger = context.logger.child({ network: network.name, job: watchTreasuryJobKind })
  try {
    await bookTopUpsFromCold({
      pool: context.pool,
      logger,
      chain,
      hotWalletAddress,
      ...(context.inflowFaults === undefined ? {} : { faults: context.inflowFaults }),
    })
  } catch (error) {
    if (error instanceof AssertionFailure) throw error
    logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      'the scan for top-ups from cold failed; the next run goes on from the same block',
    )
  }
}

/**
 * Watches every network that has a `treasury` section: first books final top-ups from cold, so that one
 * answering an open top-up proposal is linked to it before the watch resolves the proposal.
 */
export function createWatchTreasuryRunner(context: TreasuryJobContext) {
  const parts = treasuryParts(context)
  return async () => {
    for (const network of context.networks) {
      if (network.treasury === undefined) continue
      await bookNetworkTopUps(context, parts.inflowChain(network), await parts.hotWallet())
      await watchTreasury({
        pool: context.pool,
        logger: context.logger.child({ network: network.name, job: watchTreasuryJobKind }),
        chain: parts.chain(network),
        hotWalletAddress: await parts.hotWallet(),
        now: context.now ?? (() => new Date()),
      })
    }
  }
}

/** Sends approved sweeps to cold and settles sent ones, on every network with a `treasury` section. */
export function createSendTreasurySweepsRunner(context: TreasuryJobContext) {
  const parts = treasuryParts(context)
  return async () => {
    for (const network of context.networks) {
      if (network.treasury === undefined) continue
      const rpc = new EvmRpc(network)
      const headNumber = await rpc.headBlockNumber()
      const finalizedNumber = await finalizedBlockNumber(rpc, network, headNumber)
      const signer = await (
        context.signerFor ??
        ((configured) =>
          createNetworkSigner(configured, { db: context.pool, masterKeyProvider: context.masterKeyProvider }))
      )(network)
      await advanceSweepsToCold(
        {
          pool: context.pool,
          logger: context.logger.child({ network: network.name, job: sendTreasurySweepsJobKind }),
          chain: parts.chain(network),
          hotWalletAddress: await parts.hotWallet(),
          signer,
          ...(context.now === undefined ? {} : { now: context.now }),
          ...(context.replaceAfterMs === undefined ? {} : { replaceAfterMs: context.replaceAfterMs }),
          ...(context.faults === undefined ? {} : { faults: context.faults }),
        },
        finalizedNumber,
      )
    }
  }
}

export function treasuryHandlers(context: TreasuryJobContext): [string, JobHandler][] {
  const watch = createWatchTreasuryRunner(context)
  const send = createSendTreasurySweepsRunner(context)
  return [
    [watchTreasuryJobKind, async () => await watch()],
    [sendTreasurySweepsJobKind, async () => await send()],
  ]
}
