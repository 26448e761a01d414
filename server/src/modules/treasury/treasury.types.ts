import type { Address, Hex } from 'viem'

/**
 * The treasury watches the hot wallet against a floor and a ceiling per (network, asset) and the cold
 * wallet's balance (watch-only: the gateway has its address, never its key). docs/adr/0016.
 */
export const treasuryProposalKinds = ['topup_from_cold', 'sweep_to_cold'] as const
export type TreasuryProposalKind = (typeof treasuryProposalKinds)[number]

export const treasuryProposalStatuses = [
  'open',
  'approved',
  'sent',
  'completed',
  'failed',
  'resolved',
  'rejected',
] as const
export type TreasuryProposalStatus = (typeof treasuryProposalStatuses)[number]

/** Statuses that hold the (network, asset, kind) slot: a second proposal of the kind is not made. */
export const openTreasuryStatuses = ['open', 'approved', 'sent'] as const

export type TreasuryProposal = Readonly<{
  id: string
  kind: TreasuryProposalKind
  network: string
  assetId: string
  tokenAddress: Address
  hotWalletAddress: Address
  coldAddress: Address
  amount: bigint
  balanceSeen: bigint
  floorMinor: bigint
  ceilingMinor: bigint
  status: TreasuryProposalStatus
  revision: number
  decidedBy: string | null
  decidedAt: Date | null
  nonce: number | null
  txHash: Hex | null
  rawTransaction: Hex | null
  maxFeePerGas: bigint | null
  maxPriorityFeePerGas: bigint | null
  blockNumber: bigint | null
  error: string | null
  createdAt: Date
  updatedAt: Date
}>

/**
 * One signed attempt of a sweep to cold (`treasury_sweep_transactions`). Every attempt is kept: they share
 * the hot wallet's nonce, so exactly one can be mined, and it may be any of them. `createdAt` is the
 * signing worker's clock.
 */
export type TreasurySweepAttempt = Readonly<{
  attempt: number
  nonce: number
  hash: Hex
  rawTransaction: Hex
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  createdAt: Date
}>

export type WalletBalance = Readonly<{
  network: string
  assetId: string
  wallet: 'hot' | 'cold'
  address: Address
  balance: bigint
  observedAt: Date
}>

/** Where a balance stands against its band, pure (treasury.band.ts). */
export type BandPosition =
  | Readonly<{ kind: 'below-floor'; shortfall: bigint }>
  | Readonly<{ kind: 'above-ceiling'; excess: bigint }>
  | Readonly<{ kind: 'within' }>

export type TreasuryTickReport = {
  topUpsRequested: number
  sweepsProposed: number
  resolved: number
  sent: number
  completed: number
  failed: number
  waiting: number
}
