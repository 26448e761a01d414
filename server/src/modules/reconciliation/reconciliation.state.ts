import { reconciliationLimits } from './reconciliation.limits.ts'
import type { DriftStreak, IncidentAction } from './reconciliation.types.ts'

/**
 * The pure rules of reconciliation: the drift of one asset at one block, how a streak of equal drifts
 * grows, and what a check does to the asset's incident (docs/adr/0027-chain-reconciliation.md).
 */

/**
 * chain − (ledger + bookedAhead). The ledger's `hot-wallet` account is debit-normal, so its posted balance
 * is what it says the wallet holds; `bookedAhead` is what it already took out for transactions the chain
 * at the block has not mined yet.
 */
export function driftOf(chainBalance: bigint, ledgerBalance: bigint, bookedAhead: bigint): bigint {
  return chainBalance - (ledgerBalance + bookedAhead)
}

/**
 * The streak after a successful check seeing `drift` at `at`: one more if the previous successful check
 * saw the same drift, else a new streak. Failed checks are never passed here (they carry no figures).
 */
export function nextStreak(previous: DriftStreak | undefined, drift: bigint, at: Date): DriftStreak {
  if (previous !== undefined && previous.drift === drift)
    return { drift, checks: previous.checks + 1, startedAt: previous.startedAt }
  return { drift, checks: 1, startedAt: at }
}

/** Whether a streak satisfies the persistence rule (reconciliationLimits.incidentChecksMin/SpanMsMin). */
export function persists(
  streak: DriftStreak,
  at: Date,
  rule: Readonly<{ checksMin: number; spanMsMin: number }> = {
    checksMin: reconciliationLimits.incidentChecksMin,
    spanMsMin: reconciliationLimits.incidentSpanMsMin,
  },
): boolean {
  if (streak.drift === 0n) return false
  return streak.checks >= rule.checksMin && at.getTime() - streak.startedAt.getTime() >= rule.spanMsMin
}

/**
 * What a successful check does to the asset's incident. A zero drift clears an open one at once: an exact
 * match at a finalized block cannot happen by chance. A non-zero drift keeps an open incident open (and
 * updates its latest figure, without a new event), or opens one once the streak persists.
 */
export function incidentAction(
  streak: DriftStreak,
  at: Date,
  open: Readonly<{ latestDrift: bigint }> | undefined,
  rule?: Readonly<{ checksMin: number; spanMsMin: number }>,
): IncidentAction {
  if (streak.drift === 0n) return open === undefined ? 'none' : 'clear'
  if (open !== undefined) return open.latestDrift === streak.drift ? 'none' : 'update'
  return persists(streak, at, rule) ? 'open' : 'none'
}
