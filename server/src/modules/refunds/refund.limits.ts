/** Limits of refunds, each with its unit and reason. */
export const refundLimits = {
  /**
   * How long a refund's ledger reservation holds (30 days, the ledger's longest pending timeout). A buyer
   * who has not given a destination, or a payout not sent, within a month is a forgotten refund: the
   * money goes back to the store's balance (and the amount becomes refundable again).
   */
  reservationTimeoutMs: 2_592_000_000,
  /** Refunds per invoice: partial refunds are a handful; the bound keeps every list one page. */
  refundsPerInvoiceMax: 100,
  /** Random bytes of a refund link token: 256 bits, unguessable; stored as its SHA-256 only. */
  linkTokenBytes: 32,
  /**
   * Wait before asking again for a refund's payout that the store's rules refused (address book,
   * cooldown), milliseconds: 10 min lets a merchant fix the rule without hammering the database.
   */
  payoutRetryDelayMs: 600_000,
} as const
