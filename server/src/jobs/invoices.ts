import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import { invoiceLimits } from '../modules/invoices/invoice.limits.ts'
import { staticRateSource } from '../modules/invoices/invoice.rates.ts'
import {
  expireDueInvoices,
  type InvoiceContext,
  reevaluateInvoiceWithCredit,
} from '../modules/invoices/invoice.service.ts'
import { evaluateInvoiceJobKind } from '../modules/payments/payment.service.ts'
import { type JobHandler, RetryLater } from './runner.ts'

export const expireInvoicesJobKind = 'expire-invoices'

export function invoiceContext(
  networks: readonly NetworkConfig[],
  rates: Readonly<Record<string, Readonly<Record<string, string>>>>,
): InvoiceContext {
  return { networks, rateSource: staticRateSource(rates), now: () => new Date() }
}

/**
 * Re-evaluates one invoice after one of its payments changed (enqueued by the payments module, with the
 * change). When the store's available balance cannot yet cover the buyer credit an overpayment owes, the
 * evaluation commits what it can and this job runs again later, until it is all credited: each excess
 * arrives with a payment whose finalization enqueued such a job. A refund opened meanwhile credits it
 * first or is refused (openRefund); the retry then finds nothing left to credit.
 */
export function createEvaluateInvoiceHandler(pool: Pool, context: InvoiceContext): [string, JobHandler] {
  return [
    evaluateInvoiceJobKind,
    async (job) => {
      const invoiceId = job.payload.invoice_id
      assert(typeof invoiceId === 'string', 'evaluate-invoice job without invoice_id')
      const evaluation = await reevaluateInvoiceWithCredit(pool, invoiceId, context)
      if (evaluation?.buyerCreditWaiting === true)
        throw new RetryLater(
          invoiceLimits.buyerCreditRetryDelayMs,
          'buyer credit waits for the store’s available balance',
        )
    },
  ]
}

/** Periodic: moves invoices past their expiry or monitoring end (scheduled by jobs/scheduler.ts). */
export function createExpireInvoicesHandler(pool: Pool, context: InvoiceContext): [string, JobHandler] {
  return [
    expireInvoicesJobKind,
    async () => {
      await expireDueInvoices(pool, context)
    },
  ]
}
