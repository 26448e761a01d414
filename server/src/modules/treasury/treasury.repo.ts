import type { Address, Hex } from 'viem'
import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import type {
  BookedInflow,
  HotWalletInflow,
  InflowBookedBy,
  InflowSource,
  TreasuryProposal,
  TreasuryProposalKind,
  TreasuryProposalStatus,
  TreasurySweepAttempt,
  WalletBalance,
} from './treasury.types.ts'

/** SQL of the treasury module only; every list query is bounded. */

type ProposalRow = {
  id: string
  kind: TreasuryProposalKind
  network: string
  asset_id: string
  token_address: string
  hot_wallet_address: string
  cold_address: string
  amount: string
  balance_seen: string
  floor_minor: string
  ceiling_minor: string
  status: TreasuryProposalStatus
  revision: number
  decided_by: string | null
  decided_at: Date | null
  nonce: string | null
  tx_hash: string | null
  raw_tx: string | null
  max_fee_per_gas: string | null
  max_priority_fee_per_gas: string | null
  block_number: string | null
  error: string | null
  created_at: Date
  updated_at: Date
}

const optionalBigint = (text: string | null) => (text === null ? null : BigInt(text))

/** Nonces are bigint columns read as text; as counters they stay far below 2^53. */
function toNonce(text: string): number {
  const nonce = Number.parseInt(text, 10)
  assert(Number.isSafeInteger(nonce) && nonce >= 0, `nonce ${text} is not a safe integer`)
  return nonce
}

function toProposal(row: ProposalRow): TreasuryProposal {
  return {
    id: row.id,
    kind: row.kind,
    network: row.network,
    assetId: row.asset_id,
    tokenAddress: row.token_address as Address,
    hotWalletAddress: row.hot_wallet_address as Address,
    coldAddress: row.cold_address as Address,
    amount: BigInt(row.amount),
    balanceSeen: BigInt(row.balance_seen),
    floorMinor: BigInt(row.floor_minor),
    ceilingMinor: BigInt(row.ceiling_minor),
    status: row.status,
    revision: row.revision,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    nonce: row.nonce === null ? null : toNonce(row.nonce),
    txHash: row.tx_hash as Hex | null,
    rawTransaction: row.raw_tx as Hex | null,
    maxFeePerGas: optionalBigint(row.max_fee_per_gas),
    maxPriorityFeePerGas: optionalBigint(row.max_priority_fee_per_gas),
    blockNumber: optionalBigint(row.block_number),
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export type ProposalInsert = Readonly<{
  id: string
  kind: TreasuryProposalKind
  network: string
  assetId: string
  tokenAddress: string
  hotWalletAddress: string
  coldAddress: string
  amount: bigint
  balanceSeen: bigint
  floorMinor: bigint
  ceilingMinor: bigint
}>

/** Inserts unless an open proposal of the kind exists for the asset; undefined then (idempotent). */
export async function insertProposalIfNoneOpen(
  db: Queryable,
  input: ProposalInsert,
): Promise<TreasuryProposal | undefined> {
  const result = await db.query<ProposalRow>(
    `insert into treasury_proposals (id, kind, network, asset_id, token_address, hot_wallet_address,
       cold_address, amount, balance_seen, floor_minor, ceiling_minor, status)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open')
     on conflict (network, asset_id, kind) where status in ('open', 'approved', 'sent') do nothing
     returning *`,
    [
      input.id,
      input.kind,
      input.network,
      input.assetId,
      input.tokenAddress.toLowerCase(),
      input.hotWalletAddress.toLowerCase(),
      input.coldAddress.toLowerCase(),
      input.amount.toString(),
      input.balanceSeen.toString(),
      input.floorMinor.toString(),
      input.ceilingMinor.toString(),
    ],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toProposal(row)
}

export async function selectProposal(
  db: Queryable,
  id: string,
  forUpdate = false,
): Promise<TreasuryProposal | undefined> {
  const result = await db.query<ProposalRow>(
    `select * from treasury_proposals where id = $1${forUpdate ? ' for update' : ''}`,
    [id],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toProposal(row)
}

/** Newest first, after `before` (an id) when given; `limit` is bounded by the caller. */
export async function selectProposals(
  db: Queryable,
  input: Readonly<{
    status?: TreasuryProposalStatus | undefined
    before?: string | undefined
    limit: number
  }>,
): Promise<TreasuryProposal[]> {
  const result = await db.query<ProposalRow>(
    `select * from treasury_proposals
     where ($1::text is null or status = $1) and ($2::text is null or id < $2)
     order by id desc limit $3`,
    [input.status ?? null, input.before ?? null, input.limit],
  )
  return result.rows.map(toProposal)
}

export async function selectOpenProposals(
  db: Queryable,
  network: string,
  statuses: readonly TreasuryProposalStatus[],
  limit: number,
): Promise<TreasuryProposal[]> {
  const result = await db.query<ProposalRow>(
    `select * from treasury_proposals where network = $1 and status = any($2::text[]) order by id limit $3`,
    [network, statuses, limit],
  )
  return result.rows.map(toProposal)
}

export type ProposalChange = Readonly<{
  status?: TreasuryProposalStatus
  decidedBy?: string
  decidedByMerchantId?: string
  signed?: Readonly<{
    nonce: number
    hash: Hex
    rawTransaction: Hex
    maxFeePerGas: bigint
    maxPriorityFeePerGas: bigint
  }>
  blockNumber?: bigint
  error?: string | null
}>

/** Applies `change` and bumps the revision; the caller holds the row lock. */
export async function updateProposal(
  db: Queryable,
  id: string,
  change: ProposalChange,
): Promise<TreasuryProposal> {
  const result = await db.query<ProposalRow>(
    `update treasury_proposals set
       status = coalesce($2, status),
       decided_by = coalesce($3, decided_by),
       decided_by_merchant_id = coalesce($4, decided_by_merchant_id),
       decided_at = case when $3::text is null then decided_at else now() end,
       nonce = coalesce($5, nonce),
       tx_hash = coalesce($6, tx_hash),
       raw_tx = coalesce($7, raw_tx),
       max_fee_per_gas = coalesce($8, max_fee_per_gas),
       max_priority_fee_per_gas = coalesce($9, max_priority_fee_per_gas),
       block_number = coalesce($10, block_number),
       error = case when $11 then $12 else error end,
       revision = revision + 1,
       updated_at = now()
     where id = $1 returning *`,
    [
      id,
      change.status ?? null,
      change.decidedBy ?? null,
      change.decidedByMerchantId ?? null,
      change.signed?.nonce.toString() ?? null,
      change.signed?.hash ?? null,
      change.signed?.rawTransaction ?? null,
      change.signed?.maxFeePerGas.toString() ?? null,
      change.signed?.maxPriorityFeePerGas.toString() ?? null,
      change.blockNumber?.toString() ?? null,
      change.error !== undefined,
      change.error ?? null,
    ],
  )
  const row = result.rows[0]
  assert(row !== undefined, `treasury proposal ${id} vanished under its lock`)
  return toProposal(row)
}

type AttemptRow = {
  attempt: number
  nonce: string
  tx_hash: string
  raw_tx: string
  max_fee_per_gas: string
  max_priority_fee_per_gas: string
  created_at: Date
}

/** Stores one signed attempt of a sweep to cold, before it is broadcast, in the signing transaction. */
export async function insertSweepAttempt(
  db: Queryable,
  proposalId: string,
  attempt: Omit<TreasurySweepAttempt, 'attempt'>,
): Promise<TreasurySweepAttempt> {
  const result = await db.query<AttemptRow>(
    `insert into treasury_sweep_transactions (proposal_id, attempt, nonce, tx_hash, raw_tx, max_fee_per_gas,
       max_priority_fee_per_gas, created_at)
     values ($1,
       (select coalesce(max(attempt), 0) + 1 from treasury_sweep_transactions where proposal_id = $1),
       $2, $3, $4, $5, $6, $7)
     returning *`,
    [
      proposalId,
      attempt.nonce.toString(),
      attempt.hash.toLowerCase(),
      attempt.rawTransaction.toLowerCase(),
      attempt.maxFeePerGas.toString(),
      attempt.maxPriorityFeePerGas.toString(),
      attempt.createdAt,
    ],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'an insert returns its row')
  return toAttempt(row)
}

function toAttempt(row: AttemptRow): TreasurySweepAttempt {
  return {
    attempt: row.attempt,
    nonce: toNonce(row.nonce),
    hash: row.tx_hash as Hex,
    rawTransaction: row.raw_tx as Hex,
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas),
    createdAt: row.created_at,
  }
}

/** Every attempt of a sweep to cold, first first; `limit` is treasuryLimits.sweepAttemptsMax. */
export async function selectSweepAttempts(
  db: Queryable,
  proposalId: string,
  limit: number,
): Promise<TreasurySweepAttempt[]> {
  const result = await db.query<AttemptRow>(
    'select * from treasury_sweep_transactions where proposal_id = $1 order by attempt limit $2',
    [proposalId, limit],
  )
  return result.rows.map(toAttempt)
}

/** Counts a broadcast of one attempt (operators: an attempt broadcast many times is stuck). */
export async function recordSweepAttemptBroadcast(db: Queryable, hash: string): Promise<void> {
  await db.query(
    `update treasury_sweep_transactions set broadcasts = broadcasts + 1, last_broadcast_at = now()
     where tx_hash = $1`,
    [hash.toLowerCase()],
  )
}

export async function upsertBalance(db: Queryable, balance: WalletBalance): Promise<void> {
  await db.query(
    `insert into treasury_balances (network, asset_id, wallet, address, balance, observed_at)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (network, asset_id, wallet) do update
       set address = excluded.address, balance = excluded.balance, observed_at = excluded.observed_at`,
    [
      balance.network,
      balance.assetId,
      balance.wallet,
      balance.address.toLowerCase(),
      balance.balance.toString(),
      balance.observedAt,
    ],
  )
}

type BalanceRow = {
  network: string
  asset_id: string
  wallet: 'hot' | 'cold'
  address: string
  balance: string
  observed_at: Date
}

/** Every watched balance; bounded by networks × tokens × 2 (limits.networksMax × tokensPerNetworkMax). */
export async function selectBalances(db: Queryable, limit: number): Promise<WalletBalance[]> {
  const result = await db.query<BalanceRow>(
    'select * from treasury_balances order by network, asset_id, wallet limit $1',
    [limit],
  )
  return result.rows.map((row) => ({
    network: row.network,
    assetId: row.asset_id,
    wallet: row.wallet,
    address: row.address as Address,
    balance: BigInt(row.balance),
    observedAt: row.observed_at,
  }))
}

/**
 * The hot wallet's next nonce from the row payouts and sweeps use (same SQL as sweep.repo.ts and
 * payout.repo.ts takeHotWalletNonce: module rules keep us from importing theirs). The row lock serialises
 * every signer of this address; a higher chain count (something sent from elsewhere) wins.
 */
export async function takeHotWalletNonce(
  db: Queryable,
  input: Readonly<{ network: string; address: string; chainPendingCount: number }>,
): Promise<number> {
  const address = input.address.toLowerCase()
  await db.query(
    `insert into hot_wallet_nonces (network, address, next_nonce) values ($1, $2, $3)
     on conflict (network, address) do nothing`,
    [input.network, address, input.chainPendingCount.toString()],
  )
  const locked = await db.query<{ next_nonce: string }>(
    'select next_nonce from hot_wallet_nonces where network = $1 and address = $2 for update',
    [input.network, address],
  )
  const stored = toNonce(locked.rows[0]?.next_nonce ?? '0')
  const nonce = Math.max(input.chainPendingCount, stored)
  await db.query(
    'update hot_wallet_nonces set next_nonce = $3, updated_at = now() where network = $1 and address = $2',
    [input.network, address, nonce + 1],
  )
  return nonce
}

/** One booking of inflows on `network` at a time (the scan and the command): the cold wallet's balance read
 * for its opening stays true until the transaction commits. */
export async function lockInflows(db: Queryable, network: string): Promise<void> {
  await db.query("select pg_advisory_xact_lock(hashtext('treasury-inflow:' || $1))", [network])
}

type InflowRow = {
  id: string
  network: string
  tx_hash: string
  log_index: number | null
  asset_id: string
  token_address: string | null
  from_address: string
  hot_wallet_address: string
  amount: string
  block_number: string
  source: InflowSource
  booked_by: InflowBookedBy
  reason: string | null
  proposal_id: string | null
  opening_amount: string | null
  booked_at: Date
}

function toInflow(row: InflowRow): BookedInflow {
  return {
    id: row.id,
    network: row.network,
    txHash: row.tx_hash as Hex,
    logIndex: row.log_index ?? undefined,
    assetId: row.asset_id,
    tokenAddress: (row.token_address ?? undefined) as Address | undefined,
    from: row.from_address as Address,
    hotWalletAddress: row.hot_wallet_address as Address,
    amount: BigInt(row.amount),
    blockNumber: BigInt(row.block_number),
    source: row.source,
    bookedBy: row.booked_by,
    reason: row.reason,
    proposalId: row.proposal_id,
    openingAmount: optionalBigint(row.opening_amount),
    bookedAt: row.booked_at,
  }
}

export async function selectInflow(db: Queryable, id: string): Promise<BookedInflow | undefined> {
  const result = await db.query<InflowRow>('select * from treasury_inflows where id = $1', [id])
  const row = result.rows[0]
  return row === undefined ? undefined : toInflow(row)
}

export type InflowInsert = HotWalletInflow &
  Readonly<{
    id: string
    bookedBy: InflowBookedBy
    reason: string | undefined
    proposalId: string | undefined
    openingAmount: bigint
  }>

/** Inserts the audit row of a booking; the caller holds the network's inflow lock and checked it is new. */
export async function insertInflow(db: Queryable, input: InflowInsert): Promise<BookedInflow> {
  const result = await db.query<InflowRow>(
    `insert into treasury_inflows (id, network, tx_hash, log_index, asset_id, token_address, from_address,
       hot_wallet_address, amount, block_number, source, booked_by, reason, proposal_id, opening_amount)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     returning *`,
    [
      input.id,
      input.network,
      input.txHash.toLowerCase(),
      input.logIndex ?? null,
      input.assetId,
      input.tokenAddress?.toLowerCase() ?? null,
      input.from.toLowerCase(),
      input.hotWalletAddress.toLowerCase(),
      input.amount.toString(),
      input.blockNumber.toString(),
      input.source,
      input.bookedBy,
      input.reason ?? null,
      input.proposalId ?? null,
      input.openingAmount > 0n ? input.openingAmount.toString() : null,
    ],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'an insert returns its row')
  return toInflow(row)
}

/**
 * The top-up proposal a top-up from cold mined at `blockTime` answers: the newest one of the asset made
 * before it that is still open, or that the watch resolved after it (the watch reads the head, so it
 * usually resolves the proposal long before the transfer is final and booked). A block's time is whole
 * seconds, rounded down: a proposal made within that second still counts as made before.
 */
export async function selectAnsweredTopUpProposal(
  db: Queryable,
  network: string,
  assetId: string,
  blockTime: Date,
): Promise<string | undefined> {
  const result = await db.query<{ id: string }>(
    `select id from treasury_proposals
     where network = $1 and asset_id = $2 and kind = 'topup_from_cold'
       and created_at < $3::timestamptz + interval '1 second'
       and (status = 'open' or (status = 'resolved' and updated_at >= $3))
     order by created_at desc, id desc limit 1`,
    [network, assetId, blockTime],
  )
  return result.rows[0]?.id
}

export type InflowCursor = Readonly<{
  coldAddress: Address
  hotWalletAddress: Address
  startedBlock: bigint
  nextBlock: bigint
}>

export async function selectInflowCursor(db: Queryable, network: string): Promise<InflowCursor | undefined> {
  const result = await db.query<{
    cold_address: string
    hot_wallet_address: string
    started_block: string
    next_block: string
  }>('select * from treasury_inflow_cursors where network = $1', [network])
  const row = result.rows[0]
  if (row === undefined) return undefined
  return {
    coldAddress: row.cold_address as Address,
    hotWalletAddress: row.hot_wallet_address as Address,
    startedBlock: BigInt(row.started_block),
    nextBlock: BigInt(row.next_block),
  }
}

/** Starts the network's scan at `block` for this (cold, hot) pair, replacing a cursor kept for another. */
export async function startInflowCursor(
  db: Queryable,
  input: Readonly<{ network: string; coldAddress: Address; hotWalletAddress: Address; block: bigint }>,
): Promise<void> {
  await db.query(
    `insert into treasury_inflow_cursors (network, cold_address, hot_wallet_address, started_block, next_block)
     values ($1, $2, $3, $4, $4)
     on conflict (network) do update set cold_address = excluded.cold_address,
       hot_wallet_address = excluded.hot_wallet_address, started_block = excluded.started_block,
       next_block = excluded.next_block, updated_at = now()`,
    [
      input.network,
      input.coldAddress.toLowerCase(),
      input.hotWalletAddress.toLowerCase(),
      input.block.toString(),
    ],
  )
}

/** Moves the cursor on, never back: two runs racing (a retried job) leave the furthest one. */
export async function advanceInflowCursor(db: Queryable, network: string, nextBlock: bigint): Promise<void> {
  await db.query(
    `update treasury_inflow_cursors set next_block = greatest(next_block, $2), updated_at = now()
     where network = $1`,
    [network, nextBlock.toString()],
  )
}
