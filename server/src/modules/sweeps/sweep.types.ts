import type { Address, Hex } from 'viem'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Pool } from '../../db/pool.ts'
import type { Logger } from '../../lib/logger.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'

/**
 * A sweep moves one asset's credited deposits from one deposit address to the gateway's hot wallet on
 * one network (docs/adr/0012-sweeping.md). planned → gas-funding → ready → sent → finalized | failed;
 * planned → ready when the address already holds enough native coin for its gas.
 */
export type SweepStatus = 'planned' | 'gas-funding' | 'ready' | 'sent' | 'finalized' | 'failed'

export const openSweepStatuses = [
  'planned',
  'gas-funding',
  'ready',
  'sent',
] as const satisfies readonly SweepStatus[]

/** The sweep transaction's gas, fixed when its gas is funded. */
export type GasPlan = Readonly<{ gasLimit: bigint; maxFeePerGas: bigint }>

/** A signed transaction as stored before its first broadcast. */
/** `nonce` is a counter (a JS number, as viem takes it), never money. */
export type SignedTransaction = Readonly<{ nonce: number; rawTransaction: Hex; hash: Hex }>

/**
 * One signed attempt of a gas top-up (`sweep_top_up_transactions`): every attempt is kept, since any of
 * them may be the one mined (they share the hot wallet's nonce). `createdAt` is the signing worker's clock.
 */
export type TopUpAttempt = SignedTransaction & Fees & Readonly<{ attempt: number; createdAt: Date }>

/** What a transaction cost, from its receipt: gasUsed × effectiveGasPrice is the exact fee paid. */
export type GasSpent = Readonly<{ gasUsed: bigint; effectiveGasPrice: bigint }>

/** The native coin the gas station sent to the deposit address; null transaction: nothing was needed. */
export type TopUp = Readonly<{
  amount: bigint
  transaction: SignedTransaction | null
  spent: GasSpent | null
}>

type SweepBase = Readonly<{
  id: string
  network: string
  depositAddress: Address
  /** The deposit address's HD position: the signer derives its key from it. */
  hdAccount: number
  hdIndex: number
  assetId: string
  tokenAddress: Address
  hotWalletAddress: Address
  amount: bigint
  /** The last problem that keeps an open sweep waiting, or why a failed one failed. */
  error: string | null
  broadcasts: number
  createdAt: Date
  updatedAt: Date
}>

export type PlannedSweep = SweepBase & Readonly<{ status: 'planned' }>
export type GasFundingSweep = SweepBase &
  Readonly<{ status: 'gas-funding'; gas: GasPlan; topUp: TopUp & { transaction: SignedTransaction } }>
export type ReadySweep = SweepBase & Readonly<{ status: 'ready'; gas: GasPlan; topUp: TopUp }>
export type SentSweep = SweepBase &
  Readonly<{ status: 'sent'; gas: GasPlan; topUp: TopUp; transaction: SignedTransaction }>
export type FinalizedSweep = SweepBase &
  Readonly<{
    status: 'finalized'
    gas: GasPlan
    topUp: TopUp
    transaction: SignedTransaction
    blockNumber: bigint
    spent: GasSpent
    finalizedAt: Date
  }>
export type FailedSweep = SweepBase &
  Readonly<{
    status: 'failed'
    gas: GasPlan | null
    topUp: TopUp | null
    transaction: SignedTransaction | null
    spent: GasSpent | null
  }>

export type Sweep = PlannedSweep | GasFundingSweep | ReadySweep | SentSweep | FinalizedSweep | FailedSweep

/** An ERC-20 Transfer log in a receipt, decoded; addresses lower-case. */
export type ReceiptTransfer = Readonly<{ tokenAddress: string; from: string; to: string; amount: bigint }>

export type SweepReceipt = Readonly<{
  status: 'success' | 'reverted'
  blockNumber: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  transfers: readonly ReceiptTransfer[]
}>

/** The fee market now: next block's base fee and a priority fee that gets included. */
export type FeeMarket = Readonly<{ baseFeePerGas: bigint; priorityFeePerGas: bigint }>

/** EIP-1559 fee fields of a signed transaction (wei per gas). */
export type Fees = Readonly<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>

/** The caps a replacement stays under (wei per gas). */
export type FeeCaps = Readonly<{ maxFeePerGasCapWei: bigint; maxPriorityFeePerGasCapWei: bigint }>

export type ReplacementFeeDecision =
  | Readonly<{ kind: 'fees'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>
  /** Even the smallest replacement a node accepts would be above a cap: the stuck attempt stays. */
  | Readonly<{ kind: 'over-cap'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>

/**
 * `already-known`: the node holds this very transaction. `nonce-used`: the node has mined something at
 * this nonce — ours (the receipt will show it) or, if no receipt ever appears, another transaction.
 */
export type BroadcastOutcome = 'accepted' | 'already-known' | 'nonce-used'

/**
 * What sweeping needs from a network. `createSweepChain` implements it with viem; tests wrap it to inject
 * faults. Reads are side-effect free; `broadcast` is the only call that changes the chain.
 */
export interface SweepChain {
  readonly network: NetworkConfig
  chainId(): Promise<number>
  tokenBalance(tokenAddress: Address, holder: Address): Promise<bigint>
  nativeBalance(address: Address): Promise<bigint>
  /** Transactions sent by `address`, pending ones included: the next nonce of an address we sign for. */
  transactionCount(address: Address): Promise<number>
  estimateTokenTransferGas(input: {
    from: Address
    tokenAddress: Address
    to: Address
    amount: bigint
  }): Promise<bigint>
  feeMarket(): Promise<FeeMarket>
  broadcast(rawTransaction: Hex): Promise<BroadcastOutcome>
  receipt(hash: Hex): Promise<SweepReceipt | undefined>
}

/** Where a broadcast stands in the crash tests: a hook that throws simulates the process dying there. */
export type BroadcastPoint = Readonly<{ sweepId: string; kind: 'top-up' | 'sweep'; hash: Hex }>

/** Test-only crash points; production passes none. */
export type SweepFaults = Readonly<{
  /** After the signed transaction is committed, before it is broadcast. */
  beforeBroadcast?: (point: BroadcastPoint) => void
  /** After the broadcast, before the broadcast is recorded. */
  afterBroadcast?: (point: BroadcastPoint) => void
}>

/** The chain's head and the highest block that satisfies the network's finality rule, read this tick. */
export type SweepObservation = Readonly<{ headNumber: bigint; finalizedNumber: bigint }>

/** What one tick did: sweeps planned, funded (top-up signed or not needed), made ready, sent, finished. */
export type SweepTickReport = Readonly<{
  planned: number
  funded: number
  ready: number
  sent: number
  /** Stuck gas top-ups replaced at their nonce with higher fees. */
  replaced: number
  finalized: number
  failed: number
  waiting: number
}>

/** The gateway's reserved HD account: merchants get accounts from 0 upward and never reach it. */
export const gatewayHdAccount = 2_147_483_647
/** The hot wallet, which is also the gas station: one per gateway, the same address on every EVM network. */
export const gatewayHotWalletPath = `m/44'/60'/${gatewayHdAccount}'/0/0`

/** What advancing a network's sweeps needs. One SweepChain per network. */
export type SweepDeps = Readonly<{
  pool: Pool
  logger: Logger
  masterKeyProvider: MasterKeyProvider
  chain: SweepChain
  /** The gateway's hot wallet (gas station), lower-case: getGatewayHotWalletAddress. */
  hotWalletAddress: Address
  faults?: SweepFaults
  /** The signing worker's clock (stuck top-ups are measured on it); default: the system clock. */
  now?: () => Date
  /** A top-up without a receipt this long is replaced (default sweepLimits.topUpReplaceAfterMs). */
  replaceAfterMs?: number
}>
