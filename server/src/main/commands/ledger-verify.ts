import type { Pool } from '../../db/pool.ts'
import { verifyLedger } from '../../modules/ledger/ledger.service.ts'
import type { Balances } from '../../modules/ledger/ledger.types.ts'

function formatBalances(balances: Balances): string {
  return [
    `debits_pending=${balances.debitsPending}`,
    `debits_posted=${balances.debitsPosted}`,
    `credits_pending=${balances.creditsPending}`,
    `credits_posted=${balances.creditsPosted}`,
  ].join(' ')
}

/**
 * `sluice ledger verify`: recomputes every account from the transfers and compares it with the stored
 * balances (including hot deltas not folded yet), checks balance limits and that each asset sums to
 * zero. Prints each problem to `write`; returns the exit code: 0 without drift, 1 otherwise.
 */
export async function runLedgerVerify(pool: Pool, write: (line: string) => void): Promise<number> {
  const report = await verifyLedger(pool)
  for (const drift of report.drifts) {
    write(`drift: account ${drift.accountId} (${drift.assetId})`)
    write(`  stored:     ${formatBalances(drift.stored)}`)
    write(`  recomputed: ${formatBalances(drift.recomputed)}`)
  }
  if (report.driftsNotListed > 0) write(`drift: ${report.driftsNotListed} more accounts not listed`)
  for (const accountId of report.limitViolations)
    write(`limit: account ${accountId} exceeds its balance limit`)
  for (const imbalance of report.imbalances) {
    write(`imbalance: asset ${imbalance.assetId} does not sum to zero: ${formatBalances(imbalance.totals)}`)
  }
  const problems =
    report.drifts.length + report.driftsNotListed + report.limitViolations.length + report.imbalances.length
  write(`ledger verify: ${report.accountsChecked} accounts checked, ${problems} problems`)
  return problems === 0 ? 0 : 1
}
