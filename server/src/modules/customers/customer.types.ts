/** An operator's end customer; owns one permanent deposit address (all EVM networks share it). */
export type Customer = Readonly<{
  id: string
  merchantId: string
  externalId: string | null
  metadata: Readonly<Record<string, string>>
  depositAddress: string
  createdAt: Date
}>
