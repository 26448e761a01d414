/** Limits of the payments module, each with its unit and reason. */
export const paymentLimits = {
  /** Open payments moved forward per watcher tick: bounds one transaction; the rest follow next tick. */
  openPaymentsPerTickMax: 500,
  /** Final payments booked per linked ledger call (the ledger's own cap is 128 per batch). */
  ledgerBatchMax: 128,
  /** Payments listed per page. */
  pageSizeMax: 100,
} as const
