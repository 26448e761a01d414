import type { TokenConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import { sweepLimits } from './sweep.limits.ts'
import {
  insertPlannedSweep,
  insertSweepPayments,
  type SweepCandidate,
  selectSweepCandidates,
  selectUnsweptPayments,
} from './sweep.repo.ts'
import { sweepAmount, sweepThresholdMinor } from './sweep.state.ts'
import type { SweepDeps } from './sweep.types.ts'

/**
 * Deciding what to sweep. Only finalized payments count: they are credited to their owner and can no
 * longer be reorged away. Held payments (parked in suspense) and anything not final stay at the address
 * until a person decides; they still count in its on-chain balance, which is why the amount is the
 * credited sum and only capped by the chain, never taken from it.
 */

type TokenEntry = Readonly<{ token: TokenConfig; assetId: string; thresholdMinor: bigint }>

function tokenEntries(deps: SweepDeps): Map<string, TokenEntry> {
  const network = deps.chain.network
  return new Map(
    network.tokens.map((token) => {
      const assetId = `${token.symbol}@${network.name}`
      return [assetId, { token, assetId, thresholdMinor: sweepThresholdMinor(token.symbol, token.decimals) }]
    }),
  )
}

/** Plans one candidate; false when nothing was planned (raced, or the chain holds nothing). */
async function planSweep(deps: SweepDeps, candidate: SweepCandidate, entry: TokenEntry): Promise<boolean> {
  const network = deps.chain.network.name
  const onChain = await deps.chain.tokenBalance(entry.token.contractAddress, candidate.address)
  return await withTransaction(deps.pool, async (client) => {
    const payments = await selectUnsweptPayments(client, {
      network,
      address: candidate.address,
      assetId: entry.assetId,
      limit: sweepLimits.paymentsPerSweepMax,
    })
    const credited = payments.reduce((sum, payment) => sum + payment.amount, 0n)
    const full = payments.length === sweepLimits.paymentsPerSweepMax
    if (credited < entry.thresholdMinor && !full) return false
    const { amount, shortfall } = sweepAmount(credited, onChain)
    if (shortfall > 0n) {
      // The ledger says the address holds more than the chain does: never sweep what is not there, and
      // leave the difference in deposit-clearing where reconciliation shows it.
      deps.logger.error(
        {
          network,
          address: candidate.address,
          asset: entry.assetId,
          credited: credited.toString(),
          onChain: onChain.toString(),
        },
        'deposit address holds less than its credited deposits: sweeping what is there; investigate',
      )
    }
    if (amount === 0n) return false
    const id = newId('swp')
    const inserted = await insertPlannedSweep(client, {
      id,
      network,
      depositAddress: candidate.address,
      assetId: entry.assetId,
      tokenAddress: entry.token.contractAddress,
      hotWalletAddress: deps.hotWalletAddress,
      amount,
    })
    if (!inserted) return false
    await insertSweepPayments(
      client,
      id,
      payments.map((payment) => payment.id),
    )
    deps.logger.info(
      { sweepId: id, network, address: candidate.address, asset: entry.assetId, amount: amount.toString() },
      'sweep planned',
    )
    return true
  })
}

/** Plans new sweeps on the network: at most one per address per tick, bounded per tick. */
export async function planSweeps(deps: SweepDeps): Promise<number> {
  const entries = tokenEntries(deps)
  const candidates = await selectSweepCandidates(deps.pool, {
    network: deps.chain.network.name,
    thresholds: [...entries.values()].map(({ assetId, thresholdMinor }) => ({ assetId, thresholdMinor })),
    failedSweepsMax: sweepLimits.failedSweepsBeforeManualReviewMax,
    limit: sweepLimits.sweepsPlannedPerTickMax,
  })
  const addresses = new Set<string>()
  let planned = 0
  for (const candidate of candidates) {
    const entry = entries.get(candidate.assetId)
    if (entry === undefined || addresses.has(candidate.address)) continue
    if (await planSweep(deps, candidate, entry)) {
      addresses.add(candidate.address)
      planned += 1
    }
  }
  return planned
}
