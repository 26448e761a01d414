import type { Address, Hex } from 'viem'
import type { NetworkConfig } from '../../config/config.types.ts'

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

/**
 * Inflows to the hot wallet that are no payment (docs/adr/0016 decision 9): a top-up from cold, or money
 * the operator sent on purpose (gas station funding). Booked hot-wallet ← cold-wallet or ← operator-capital.
 */
export type InflowSource = 'cold-wallet' | 'operator-capital'
export type InflowBookedBy = 'scan' | 'command'

/** One token Transfer log, decoded; addresses lower-case. */
export type InflowTransferLog = Readonly<{
  blockNumber: bigint
  txHash: Hex
  logIndex: number
  tokenAddress: Address
  from: Address
  to: Address
  amount: bigint
}>

/** A mined transaction with what its receipt says: status and the token Transfer logs it emitted. */
export type InflowTransaction = Readonly<{
  hash: Hex
  blockNumber: bigint
  success: boolean
  from: Address
  /** null for a contract creation */
  to: Address | null
  value: bigint
  /** Every log of the receipt; `transfer` when it is a standard ERC-20 Transfer. */
  logs: readonly Readonly<{
    logIndex: number
    address: Address
    transfer: Readonly<{ from: Address; to: Address; amount: bigint }> | undefined
  }>[]
}>

/** What booking inflows reads from a network (jobs/treasury.ts createInflowChain, on its RPC URLs). */
export type InflowChain = Readonly<{
  network: NetworkConfig
  chainId(): Promise<number>
  /** The highest block that satisfies the network's finality rule; -1n when none does yet. */
  finalizedBlock(): Promise<bigint>
  blockTime(blockNumber: bigint): Promise<Date>
  /**
   * Transfer logs of `tokens` from `from` to `to` in the range (eth_getLogs with topics). The answer may
   * cover less than asked (a provider's "too many results"): the caller continues after `coveredToBlock`.
   */
  transferLogs(
    range: Readonly<{ fromBlock: bigint; toBlock: bigint }>,
    filter: Readonly<{ tokens: readonly Address[]; from: Address; to: Address }>,
  ): Promise<{ logs: InflowTransferLog[]; coveredToBlock: bigint }>
  /** The transaction and its receipt; undefined when the node knows no mined transaction by that hash. */
  transaction(hash: Hex): Promise<InflowTransaction | undefined>
}>

/** A final chain fact that moved value into the hot wallet, as it will be booked. */
export type HotWalletInflow = Readonly<{
  network: string
  txHash: Hex
  /** undefined: the transaction's native value */
  logIndex: number | undefined
  assetId: string
  tokenAddress: Address | undefined
  from: Address
  hotWalletAddress: Address
  amount: bigint
  blockNumber: bigint
  source: InflowSource
}>

/** A booked inflow (`treasury_inflows`); `id` is also its ledger transfer's id. */
export type BookedInflow = HotWalletInflow &
  Readonly<{
    id: string
    bookedBy: InflowBookedBy
    reason: string | null
    proposalId: string | null
    openingAmount: bigint | null
    bookedAt: Date
  }>

/** Why the command refuses to book a transaction (nothing is written). */
export const inflowRefusalCodes = [
  'transaction-not-found',
  'transaction-not-final',
  'transaction-failed',
  'log-index-unknown',
  'log-not-a-transfer',
  'token-not-configured',
  'not-to-hot-wallet',
  'zero-amount',
  'booked-by-its-flow',
] as const
export type InflowRefusalCode = (typeof inflowRefusalCodes)[number]

export type InflowCheck =
  | Readonly<{ kind: 'inflow'; inflow: HotWalletInflow }>
  | Readonly<{ kind: 'refused'; code: InflowRefusalCode; message: string }>
