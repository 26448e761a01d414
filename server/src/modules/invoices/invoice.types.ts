/**
 * Invoices have two state axes (after BTCPay): where the invoice is in its life (`status`) and what was
 * unusual about how it was paid (`exception`). Amounts compared across assets are in value units:
 * 10^-36 of one token of the invoice's stablecoin family, so 6- and 18-decimal assets add up exactly.
 */
export type InvoiceStatus = 'new' | 'processing' | 'settled' | 'expired' | 'invalid'
export type InvoiceException = 'none' | 'paid_partial' | 'paid_over' | 'paid_late' | 'marked'

export const valueDecimals = 36

export type InvoiceState = Readonly<{ status: InvoiceStatus; exception: InvoiceException }>

/** The invoice's payments as the chain and the clock see them now (only payments before monitoring end). */
export type InvoiceFacts = Readonly<{
  dueValue: bigint
  /** Payments seen and not orphaned (detected, confirmed or final), in value units. */
  seenValue: bigint
  /** Final payments only. */
  finalValue: bigint
  /** Some counted payment was first seen after the expiry time. */
  anyLate: boolean
  /** Some counted payment is still waiting for finality. */
  anyPending: boolean
  toleranceBasisPoints: number
  nowMs: number
  expiresAtMs: number
  monitoringUntilMs: number
}>

export type InvoiceEventType =
  | 'invoice.processing'
  | 'invoice.settled'
  | 'invoice.expired'
  | 'invoice.invalid'
  | 'invoice.paid_partial'
  | 'invoice.paid_over'
  | 'invoice.paid_late'

export type ManualMark = 'settled' | 'invalid'
