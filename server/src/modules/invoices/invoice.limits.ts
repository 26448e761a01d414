/** Limits of invoices, each with its unit and reason. */
export const invoiceLimits = {
  /** Default and bounds of the time to pay: BTCPay's default is 15 min; a day covers bank-speed payers. */
  expiryMinutesDefault: 15,
  expiryMinutesMin: 1,
  expiryMinutesMax: 7 * 24 * 60,
  /** How long after expiry late payments are still watched and attached (BTCPay: 1440 min). */
  monitoringMinutesDefault: 24 * 60,
  monitoringMinutesMax: 30 * 24 * 60,
  /** Underpayment accepted as paid, in basis points; above 50 % an "invoice" is no longer a price. */
  toleranceBasisPointsMax: 5_000,
  /** Largest invoice in whole currency units: beyond it a typo is likelier than a sale. */
  amountWholeUnitsMax: 100_000_000n,
  /** Payments considered per evaluation: far more than any real invoice receives. */
  paymentsPerInvoiceMax: 1_000,
  /** Open invoices evaluated per expiry scan (the scan repeats). */
  expiryScanBatchMax: 500,
  /**
   * Ledger lines read from one buyer-credit account per evaluation (to learn what was credited already), in
   * pages: at most one overpayment credit per finalized payment (1,000) plus each refund's reservation, void
   * and return (100 refunds) fit several times over.
   */
  buyerCreditLinesReadMax: 5_000,
  buyerCreditPageSize: 500,
  /**
   * Wait before crediting again an overpayment the store's available balance could not cover (refunds or
   * payouts reserved it), milliseconds: 10 min, as a refund's payout waits for the store's rules.
   */
  buyerCreditRetryDelayMs: 600_000,
  /** Metadata: keys and bytes (Stripe's bounds: 50 keys). */
  metadataKeysMax: 50,
  metadataBytesMax: 8_192,
} as const
