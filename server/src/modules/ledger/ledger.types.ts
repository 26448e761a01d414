/**
 * The ledger's vocabulary, after TigerBeetle: accounts hold four counters (debits/credits × pending/posted);
 * transfers move one amount of one asset from a debit account to a credit account and are never changed.
 * Amounts are bigint minor units of the asset; asset ids are network-specific (`USDT@ethereum`).
 */

export type OwnerType = 'merchant' | 'customer' | 'system'
export type NormalSide = 'debit' | 'credit'

/** The gateway's own accounts, one of each per asset, created on first use. */
export const systemAccountKinds = [
  'hot-wallet',
  'cold-wallet',
  'deposit-clearing',
  'payout-clearing',
  'sweep-in-transit',
  'fee-revenue',
  'network-fee-expense',
  'suspense',
  // Money the operator put in on purpose: gas station funding, cold-wallet holdings the ledger never saw.
  'operator-capital',
] as const
export type SystemAccountKind = (typeof systemAccountKinds)[number]

export type AccountFlags = Readonly<{
  /** No overdraft for credit-normal accounts: debits (pending + posted) never exceed posted credits. */
  debitsMustNotExceedCredits: boolean
  /** No overdraft for debit-normal accounts: credits (pending + posted) never exceed posted debits. */
  creditsMustNotExceedDebits: boolean
}>

export type Account = Readonly<{
  id: string
  assetId: string
  ownerType: OwnerType
  ownerId: string
  purpose: string
  normalSide: NormalSide
  flags: AccountFlags
  /** Balance changes are deferred (see docs/adr/0006-ledger-hot-accounts.md); never with a balance limit. */
  hot: boolean
  createdAt: Date
}>

export type AccountInput = Readonly<{
  ownerType: OwnerType
  ownerId: string
  /** What the account is for, per owner and asset (`available`, `reserve`, a system account kind). */
  purpose: string
  assetId: string
  normalSide: NormalSide
  flags?: Partial<AccountFlags>
  hot?: boolean
}>

export type Balances = Readonly<{
  debitsPending: bigint
  debitsPosted: bigint
  creditsPending: bigint
  creditsPosted: bigint
}>

export type AccountBalance = Readonly<{
  account: Account
  /** Live counters: the account row plus any hot deltas not yet folded in. */
  balances: Balances
  /** Posted balance on the account's normal side (may be negative for an account without limits). */
  posted: bigint
  /** Posted balance less outgoing reservations: what the owner can still move. */
  available: bigint
}>

export type TransferKind = 'single' | 'pending' | 'post' | 'void' | 'expire'

/** Stripe-style: flat string values, bounded in keys and bytes (ledger.limits.ts). */
export type Metadata = Readonly<Record<string, string>>

type TransferRequestBase = Readonly<{
  /** Client-chosen and unique: the idempotency key. Replaying it with the same body returns the original. */
  id: string
  metadata?: Metadata
}>

export type SingleTransferRequest = TransferRequestBase &
  Readonly<{
    kind: 'single'
    debitAccountId: string
    creditAccountId: string
    assetId: string
    amount: bigint
    code: string
  }>

/** Reserves `amount` (counts in the pending counters) until posted, voided or expired. */
export type PendingTransferRequest = TransferRequestBase &
  Readonly<{
    kind: 'pending'
    debitAccountId: string
    creditAccountId: string
    assetId: string
    amount: bigint
    code: string
    timeoutMs: number
  }>

/** Posts a pending transfer, in full or in part (omit `amount` for the full amount); the rest is released. */
export type PostPendingRequest = TransferRequestBase &
  Readonly<{ kind: 'post'; pendingId: string; amount?: bigint; code?: string }>

/** Releases a pending transfer's whole reservation. */
export type VoidPendingRequest = TransferRequestBase &
  Readonly<{ kind: 'void'; pendingId: string; code?: string }>

export type TransferRequest =
  | SingleTransferRequest
  | PendingTransferRequest
  | PostPendingRequest
  | VoidPendingRequest

export type Transfer = Readonly<{
  /** Posting order (bigint): statements and as-of balances page by it. */
  seq: bigint
  id: string
  kind: TransferKind
  debitAccountId: string
  creditAccountId: string
  assetId: string
  /** For a post, the amount posted; for a void or expiry, the amount released. */
  amount: bigint
  pendingId: string | null
  timeoutAt: Date | null
  code: string
  metadata: Metadata
  createdAt: Date
}>

export type TransferResult = Readonly<{ transfer: Transfer; replayed: boolean }>

export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired'

/** A point in the ledger's past: after the transfer numbered `seq`, or at time `at`. */
export type BalancePoint = Readonly<{ seq: bigint }> | Readonly<{ at: Date }>

export type StatementLine = Readonly<{
  seq: bigint
  transferId: string
  kind: TransferKind
  code: string
  /** Which side of the transfer this account was on. */
  side: NormalSide
  counterpartyAccountId: string
  amount: bigint
  /** What the transfer did to this account's counters. */
  delta: Balances
  metadata: Metadata
  createdAt: Date
}>

export type StatementPage = Readonly<{
  lines: readonly StatementLine[]
  /** Pass as `afterSeq` for the next page; null when this page is the last. */
  nextAfterSeq: bigint | null
}>

export type AccountDrift = Readonly<{
  accountId: string
  assetId: string
  stored: Balances
  recomputed: Balances
}>

export type AssetImbalance = Readonly<{ assetId: string; totals: Balances }>

export type LedgerVerifyReport = Readonly<{
  accountsChecked: number
  drifts: readonly AccountDrift[]
  /** Drifting accounts beyond the reported ones (verifyDriftsReportedMax). */
  driftsNotListed: number
  /** Accounts whose live balances break their own limit (the CHECK should make this impossible). */
  limitViolations: readonly string[]
  imbalances: readonly AssetImbalance[]
}>
