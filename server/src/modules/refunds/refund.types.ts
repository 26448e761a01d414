/**
 * A refund returns (part of) what a buyer paid for an invoice, in one asset the invoice was paid with.
 * Opening it reserves the amount in the ledger; the buyer names the destination through a one-time link;
 * then it becomes a payout (pay-out-refund job), which sends it. Amounts are bigint minor units of `assetId`.
 */
export type StoredRefundStatus = 'awaiting_destination' | 'awaiting_payout' | 'payout_requested' | 'cancelled'

/** `expired`: still awaiting something at expiresAt, when the ledger lets the reservation lapse. */
export type RefundStatus = StoredRefundStatus | 'expired'

export type Refund = Readonly<{
  id: string
  merchantId: string
  invoiceId: string
  assetId: string
  network: string
  /** The token's symbol and decimals when the refund was opened. */
  symbol: string
  decimals: number
  amount: bigint
  fromBuyerCredit: bigint
  fromMerchantBalance: bigint
  buyerCreditReservationId: string | null
  merchantReservationId: string | null
  reason: string | null
  storedStatus: StoredRefundStatus
  /** The status as of the read (stored status, or expired). */
  status: RefundStatus
  destination: string | null
  /** The payout carrying the refund, once requested (status payout_requested). */
  payoutId: string | null
  /** Why the last attempt to request the payout was refused (address book, cooldown); null otherwise. */
  payoutError: string | null
  apiKeyId: string
  expiresAt: Date
  destinationSubmittedAt: Date | null
  cancelledAt: Date | null
  createdAt: Date
}>

/** A refund with its link token: only in the answer that created the token (open or reissue). */
export type RefundWithLink = Readonly<{ refund: Refund; linkToken: string }>

export type OpenRefundInput = Readonly<{
  merchantId: string
  invoiceId: string
  /** Decimal text in the asset (the wire amount); its precision is checked against the asset. */
  amount: string
  assetId: string
  reason?: string | undefined
  apiKeyId: string
}>
