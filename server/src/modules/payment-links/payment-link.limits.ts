/** Limits of payment links, each with its unit and reason. */
export const paymentLinkLimits = {
  /**
   * Largest price or buyer bound in whole currency units: the invoices module refuses more
   * (invoiceLimits.amountWholeUnitsMax), so a link promising more could never open an invoice.
   */
  amountWholeUnitsMax: 100_000_000n,
  /** Decimals of a fiat-priced link: cents, as fiat invoices have. */
  fiatDecimals: 2,
} as const
