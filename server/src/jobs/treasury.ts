import type { Address } from 'viem'
import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import type { Logger } from '../lib/logger.ts'
import { finalizedBlockNumber } from '../modules/chains/chain.service.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { createNetworkSigner } from '../modules/signers/signer.service.ts'
import type { Signer } from '../modules/signers/signer.types.ts'
import { createSweepChain } from '../modules/sweeps/sweep.chain.ts'
import { getGatewayHotWalletAddress } from '../modules/sweeps/sweep.service.ts'
import type { SweepChain } from '../modules/sweeps/sweep.types.ts'
import { advanceSweepsToCold, type SendDeps } from '../modules/treasury/treasury.send.ts'
import { watchTreasury } from '../modules/treasury/treasury.service.ts'
import type { JobHandler } from './runner.ts'

/**
 * Treasury jobs (docs/adr/0016-signers-and-cold-wallet.md), both periodic (scheduler.ts): `watch-treasury`
 * reads the hot and cold balances and proposes top-ups and sweeps to cold; `send-treasury-sweeps` signs
 * and sends approved sweeps, replaces stuck ones at their nonce, and settles mined ones. Both need the hot
 * wallet's address, hence the master key: they run on signer workers only.
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
}>

function treasuryParts(context: TreasuryJobContext) {
  const chains = new Map<string, SweepChain>()
  let hotWallet: Address | undefined
  return {
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

/** Watches every network that has a `treasury` section. */
export function createWatchTreasuryRunner(context: TreasuryJobContext) {
  const parts = treasuryParts(context)
  return async () => {
    for (const network of context.networks) {
      if (network.treasury === undefined) continue
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
