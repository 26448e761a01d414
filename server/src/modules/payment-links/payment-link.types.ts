/**
 * A payment link: a shareable URL (/l/<id>) that opens an invoice per buyer, at a fixed price or at an
 * amount the buyer chooses within bounds. Amounts are minor units of the link's currency, counted in
 * `amountDecimals` (the accepted asset with the fewest decimals when the link was made; 2 for fiat).
 */
export type PaymentLinkStatus = 'active' | 'deactivated' | 'expired'

export type PaymentLink = Readonly<{
  id: string
  merchantId: string
  currency: string
  amountDecimals: number
  /** The fixed price; null when the buyer chooses. */
  amount: bigint | null
  amountMin: bigint | null
  amountMax: bigint | null
  /** Accepted networks; null = every configured network when an invoice opens. */
  networks: readonly string[] | null
  description: string | null
  redirectUrl: string | null
  oneTime: boolean
  /** A one-time link's only invoice, once opened. */
  invoiceId: string | null
  expiresAt: Date | null
  deactivatedAt: Date | null
  createdAt: Date
}>

export type CreatePaymentLinkInput = Readonly<{
  merchantId: string
  currency: string
  amount?: string | undefined
  amountMin?: string | undefined
  amountMax?: string | undefined
  networks?: readonly string[] | undefined
  description?: string | undefined
  redirectUrl?: string | undefined
  oneTime?: boolean | undefined
  expiresAt?: Date | undefined
}>
