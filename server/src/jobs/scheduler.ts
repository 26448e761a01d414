import { enqueueJob } from '../db/job-queue.ts'
import type { Pool } from '../db/pool.ts'
import type { Logger } from '../lib/logger.ts'
import { expirePendingTransfers, foldHotAccountDeltas } from '../modules/ledger/ledger.service.ts'
import { depositAddressLimits } from '../modules/payments/deposit-address.limits.ts'
import { sweepDepositAddressPoolsJobKind } from '../modules/payments/deposit-address.service.ts'
import { reconciliationLimits } from '../modules/reconciliation/reconciliation.limits.ts'
import { expireInvoicesJobKind } from './invoices.ts'
import { reconcileHotWalletsJobKind } from './reconcile-hot-wallet.ts'
import type { JobHandler } from './runner.ts'

export type PeriodicJob = Readonly<{ kind: string; everyMs: number }>

/** Housekeeping that runs on a clock. Each period enqueues at most one job per kind (dedupe key). */
export const periodicJobs: readonly PeriodicJob[] = [
  // Invoices expire on time to the second the buyer sees on the checkout countdown.
  { kind: expireInvoicesJobKind, everyMs: 5_000 },
  // Two-phase ledger reservations past their timeout are voided.
  { kind: 'expire-ledger-pending', everyMs: 10_000 },
  // Deferred balance changes of hot system accounts are folded into their rows (docs/adr/0006).
  { kind: 'fold-ledger-hot-deltas', everyMs: 2_000 },
  // Idempotency records older than their retention (24 h) are deleted.
  { kind: 'delete-expired-idempotency-keys', everyMs: 60_000 },
  // The hot wallet against its floor and ceiling, and the cold wallet's balance (docs/adr/0016). Balances
  // move with payouts and sweeps; a minute is soon enough for a treasurer and cheap on RPC.
  { kind: 'watch-treasury', everyMs: 60_000 },
  // The hot wallet's ledger accounts against the chain at a finalized block, one job per network
  // (docs/adr/0027-chain-reconciliation.md; the period's reason is reconciliationLimits.checkEveryMs).
  { kind: reconcileHotWalletsJobKind, everyMs: reconciliationLimits.checkEveryMs },
  // Approved sweeps to cold are signed and settled; people wait on these, so more often.
  { kind: 'send-treasury-sweeps', everyMs: 10_000 },
  // Deposit address pools left low (a lost refill trigger, a restart) are topped up (docs/adr/0018).
  { kind: sweepDepositAddressPoolsJobKind, everyMs: depositAddressLimits.sweepEveryMs },
]

export function ledgerHousekeepingHandlers(pool: Pool): [string, JobHandler][] {
  return [
    ['expire-ledger-pending', async () => void (await expirePendingTransfers(pool, new Date()))],
    ['fold-ledger-hot-deltas', async () => void (await foldHotAccountDeltas(pool))],
  ]
}

/**
 * Enqueues each periodic job every `everyMs`. Several worker processes may run a scheduler: the dedupe
 * key keeps one live job per kind, and the jobs are idempotent anyway.
 */
export class JobScheduler {
  private readonly timers: NodeJS.Timeout[] = []

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly jobs: readonly PeriodicJob[] = periodicJobs,
  ) {}

  start(): void {
    for (const job of this.jobs) {
      const tick = () => {
        enqueueJob(this.pool, job.kind, {}, { dedupeKey: `periodic:${job.kind}`, attemptsMax: 3 }).catch(
          (error: unknown) =>
            this.logger.warn({ err: error, kind: job.kind }, 'could not schedule a periodic job'),
        )
      }
      tick()
      this.timers.push(setInterval(tick, job.everyMs))
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer)
    this.timers.length = 0
  }
}
