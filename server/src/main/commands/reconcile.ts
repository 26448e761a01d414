import { formatUnits } from '@sluice/sdk/money'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Pool } from '../../db/pool.ts'
import { createReconciliationChain } from '../../jobs/reconcile-hot-wallet.ts'
import { checkHotWallet } from '../../modules/reconciliation/reconciliation.service.ts'
import type { AssetCheck, ReconciliationChain } from '../../modules/reconciliation/reconciliation.types.ts'
import { findGatewayHotWalletAddress } from '../../modules/sweeps/sweep.service.ts'

/** Exit codes: 0 every asset equal, 1 a drift somewhere (wins), 2 something could not be checked. */
export const reconcileExitCodes = { matched: 0, drift: 1, unchecked: 2 } as const

export type ReconcileCommandContext = Readonly<{
  pool: Pool
  networks: readonly NetworkConfig[]
  write: (line: string) => void
  /** Tests inject failures; default: the network's RPC URLs (createReconciliationChain). */
  chainFor?: (network: NetworkConfig) => ReconciliationChain
}>

/** A signed amount in minor units with its decimal reading: exact, no rounding. */
function amount(minor: bigint, decimals: number): string {
  const sign = minor < 0n ? '-' : ''
  const magnitude = minor < 0n ? -minor : minor
  return `${sign}${magnitude} (${sign}${formatUnits(magnitude, decimals)})`
}

function describe(check: AssetCheck): string[] {
  const name = check.asset.assetId
  if (check.status === 'failed') return [`  ${name}: not checked: ${check.error}`]
  const decimals = check.asset.decimals
  const lines = [
    `  ${name}: chain ${amount(check.chainBalance, decimals)}  ledger ${amount(check.ledgerBalance, decimals)}` +
      (check.bookedAhead === 0n ? '' : `  booked ahead ${amount(check.bookedAhead, decimals)}`) +
      `  drift ${amount(check.drift, decimals)}`,
  ]
  if (check.status === 'drift')
    lines.push(
      check.moving
        ? '    the wallet moved after the finalized block: this difference may be in flight (run again in a minute)'
        : '    nothing moved after the finalized block; a movement final there but not booked yet clears within a minute, anything that stays is an unbooked transfer or fee',
    )
  return lines
}

/**
 * `sluice reconcile`: for every configured network, the hot wallet's balance of each token and of the
 * native coin at the finalized block against its ledger account (docs/adr/0027-chain-reconciliation.md).
 * Prints chain, ledger and drift per asset; returns 1 if any asset differs, else 2 if anything could not
 * be checked, else 0. No persistence rule and nothing stored: it reports what it sees now; the periodic
 * job is what raises incidents.
 */
export async function runReconcileCommand(context: ReconcileCommandContext): Promise<number> {
  let drift = false
  let unchecked = false
  for (const network of context.networks) {
    const hotWalletAddress = await findGatewayHotWalletAddress(context.pool, network.name)
    if (hotWalletAddress === undefined) {
      context.write(
        `${network.name}: not checked: no hot wallet recorded yet (no signing worker has started)`,
      )
      unchecked = true
      continue
    }
    const chain = (context.chainFor ?? createReconciliationChain)(network)
    const check = await checkHotWallet({ pool: context.pool, chain, hotWalletAddress })
    const read = check.assets.find((asset) => asset.status !== 'failed')
    const block = read === undefined ? '' : `, finalized block ${read.blockNumber}`
    context.write(`${network.name}: hot wallet ${hotWalletAddress}${block}`)
    for (const asset of check.assets) {
      for (const line of describe(asset)) context.write(line)
      if (asset.status === 'drift') drift = true
      if (asset.status === 'failed') unchecked = true
    }
  }
  if (context.networks.length === 0) {
    context.write('no networks configured')
    unchecked = true
  }
  const code = drift
    ? reconcileExitCodes.drift
    : unchecked
      ? reconcileExitCodes.unchecked
      : reconcileExitCodes.matched
  context.write(
    `reconcile: ${code === reconcileExitCodes.matched ? 'ledger equals chain' : code === reconcileExitCodes.drift ? 'drift found' : 'not everything could be checked'}`,
  )
  return code
}
