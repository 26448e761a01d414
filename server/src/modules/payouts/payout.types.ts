import type { Hex } from 'viem'

/**
 * A payout sends one asset from the gateway's hot wallet to one destination, on behalf of one store
 * (docs/adr/0014-payouts-policy-and-tx-manager.md). Amounts are bigint minor units of the asset.
 */
export const payoutStatuses = [
  'requested',
  'pending_approval',
  'approved',
  'delayed',
  'queued',
  'broadcast',
  'confirmed',
  'finalized',
  'failed',
  'cancelled',
  'blocked',
] as const
export type PayoutStatus = (typeof payoutStatuses)[number]

/** Who may act on payouts of a store. The initiator role is implied by a key with payouts:write. */
export const payoutRoles = ['initiator', 'approver', 'treasurer', 'admin', 'auditor'] as const
export type PayoutRole = (typeof payoutRoles)[number]

export type PayoutSignedTransaction = Readonly<{
  nonce: number
  rawTransaction: Hex
  hash: Hex
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  createdAt: Date
}>

export type Payout = Readonly<{
  id: string
  merchantId: string
  network: string
  assetId: string
  tokenAddress: string
  decimals: number
  destination: string
  amount: bigint
  externalReference: string | null
  status: PayoutStatus
  revision: number
  initiatorApiKeyId: string
  policyVersion: number | null
  ruleId: string | null
  approvalsRequired: number
  approvalRole: PayoutRole | null
  executeAfter: Date | null
  reservationId: string
  /** The hash whose receipt was seen (after a replacement, the replacement's). */
  minedHash: Hex | null
  blockNumber: bigint | null
  error: string | null
  /** The BatchTransfer transaction that carries it (docs/adr/0015); null: a single transfer or not sent. */
  batchId: string | null
  /** Set on a canary: the payout it proves the destination for. */
  parentPayoutId: string | null
  /** Set on a payout that waits for its canary to be final before it is signed. */
  canaryPayoutId: string | null
  /** What its transaction cost, once mined (kept for the cost-per-settled KPI); null before. */
  networkFee: NetworkFee | null
  createdAt: Date
  updatedAt: Date
}>

/**
 * Gas a payout burned (wei; a batch item's share) and, when the configured rates price the native coin in
 * the payout's token, the same in the payout asset's minor units, rounded down, with the rate used.
 */
export type NetworkFee = Readonly<{ wei: bigint; inAssetMinor: bigint | null; rate: string | null }>

/** A store's approver: a person with roles and a TOTP second factor (the secret never leaves the server). */
export type PayoutApprover = Readonly<{
  id: string
  merchantId: string
  name: string
  roles: readonly PayoutRole[]
  /** The API key this person uses, if any: a payout created with it cannot be approved by them. */
  apiKeyId: string | null
  createdAt: Date
}>

export type PayoutApproval = Readonly<{
  payoutId: string
  approverId: string
  decision: 'approve' | 'reject'
  apiKeyId: string
  revision: number
  reason: string | null
  createdAt: Date
}>
