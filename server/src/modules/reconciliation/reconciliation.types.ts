import type { Address } from 'viem'
import type { NetworkConfig } from '../../config/config.types.ts'

/**
 * Reconciliation of the ledger against the chain for the gateway's hot wallet
 * (docs/adr/0027-chain-reconciliation.md): per network and asset, the wallet's balance at a finalized
 * block against its `hot-wallet` ledger account. Amounts are bigint minor units (wei for the native coin).
 */

/**
 * What a check reads from a network. Every read names its block, so the three figures of one check
 * (token balance, native balance, nonce) come from one state of the chain. The job builds it on the
 * network's RPC URLs with failover (jobs/reconcile-hot-wallet.ts); tests wrap it to inject failures.
 */
export interface ReconciliationChain {
  readonly network: NetworkConfig
  chainId(): Promise<number>
  /** The head and the finalized block under the network's finality rule (the watcher's); -1n: none yet. */
  blocks(): Promise<Readonly<{ head: bigint; finalized: bigint }>>
  tokenBalance(token: Address, holder: Address, block: bigint): Promise<bigint>
  nativeBalance(holder: Address, block: bigint): Promise<bigint>
  /** Transactions `holder` has had mined up to `block`: its next nonce there (a count, not money). */
  transactionCount(holder: Address, block: bigint): Promise<number>
}

/** One asset reconciled: each configured token, and the native coin (`ETH@<network>`, as the ledger books gas). */
export type ReconciledAsset = Readonly<{
  assetId: string
  /** The token contract; undefined for the native coin. */
  tokenAddress: Address | undefined
  decimals: number
}>

/** The figures of one asset at one finalized block. */
export type AssetFigures = Readonly<{
  blockNumber: bigint
  chainBalance: bigint
  /** The hot-wallet account's posted balance (0 when the account does not exist yet). */
  ledgerBalance: bigint
  /**
   * Booked in the ledger for hot-wallet transactions mined after `blockNumber` (gas top-ups are booked
   * at their receipt, not at finality). Added back before comparing: the chain at the block has not
   * spent it yet.
   */
  bookedAhead: bigint
  /** chain − (ledger + bookedAhead): positive, the wallet holds more than the ledger says. */
  drift: bigint
  /** The balance or the wallet's nonce changed between `blockNumber` and the head: may be in flight. */
  moving: boolean
}>

export type AssetCheck =
  | (Readonly<{ status: 'matched' | 'drift'; asset: ReconciledAsset }> & AssetFigures)
  | Readonly<{ status: 'failed'; asset: ReconciledAsset; error: string }>

/** One network's check, as read (nothing stored yet). */
export type NetworkCheck = Readonly<{
  network: string
  hotWalletAddress: Address
  checkedAt: Date
  assets: readonly AssetCheck[]
}>

/** How long one drift has been seen: consecutive non-failed checks with this same drift. */
export type DriftStreak = Readonly<{ drift: bigint; checks: number; startedAt: Date }>

export type ReconciliationIncident = Readonly<{
  id: string
  network: string
  assetId: string
  openingDrift: bigint
  latestDrift: bigint
  openedBlockNumber: bigint
  firstSeenAt: Date
  openedAt: Date
  clearedBlockNumber: bigint | null
  clearedAt: Date | null
}>

/** What a stored check did to the asset's incident. */
export type IncidentAction = 'none' | 'open' | 'update' | 'clear'

export type ReconciliationReport = Readonly<{
  matched: number
  drifts: number
  failed: number
  opened: number
  cleared: number
}>

/** The latest state of one asset, for the metrics (http/metrics.ts) and operators. */
export type ReconciliationStatus = Readonly<{
  network: string
  assetId: string
  /** The latest check that read figures (not failed); null if every kept check failed. */
  lastSuccessfulCheckAt: Date | null
  /** Seconds since then, by the database clock (a duration, not money). */
  lastSuccessfulCheckAgeSeconds: number | null
  /** The latest successful check's drift. */
  lastDrift: bigint | null
  openIncident: ReconciliationIncident | undefined
}>
