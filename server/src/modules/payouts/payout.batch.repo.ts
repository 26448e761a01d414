import type { Hex } from 'viem'
import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import { payoutFromRow } from './payout.repo.ts'
import type { Payout } from './payout.types.ts'

/** SQL for payout_batches and payout_batch_transactions (0013-payout-address-book.sql). */

export type BatchKind = 'transfer' | 'approve'
export type BatchStatus = 'broadcast' | 'confirmed' | 'finalized' | 'failed'

export type PayoutBatch = Readonly<{
  id: string
  network: string
  kind: BatchKind
  tokenAddress: string
  contractAddress: string
  status: BatchStatus
  nonce: number
  itemCount: number
  total: bigint
  minedHash: Hex | null
  blockNumber: bigint | null
  error: string | null
  createdAt: Date
}>

export type BatchTransaction = Readonly<{
  nonce: number
  rawTransaction: Hex
  hash: Hex
  gasLimit: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  createdAt: Date
}>

type BatchRow = {
  id: string
  network: string
  kind: BatchKind
  token_address: string
  contract_address: string
  status: BatchStatus
  nonce: string
  item_count: number
  total: string
  mined_hash: string | null
  block_number: string | null
  error: string | null
  created_at: Date
}

/** Nonces are bigint columns read as text; as counters they stay far below 2^53. */
function toNonce(text: string): number {
  const nonce = Number.parseInt(text, 10)
  assert(Number.isSafeInteger(nonce) && nonce >= 0, `nonce ${text} is not a safe integer`)
  return nonce
}

function toBatch(row: BatchRow): PayoutBatch {
  return {
    id: row.id,
    network: row.network,
    kind: row.kind,
    tokenAddress: row.token_address,
    contractAddress: row.contract_address,
    status: row.status,
    nonce: toNonce(row.nonce),
    itemCount: row.item_count,
    total: BigInt(row.total),
    minedHash: row.mined_hash as Hex | null,
    blockNumber: row.block_number === null ? null : BigInt(row.block_number),
    error: row.error,
    createdAt: row.created_at,
  }
}

export async function insertBatch(
  db: Queryable,
  input: Readonly<{
    id: string
    network: string
    kind: BatchKind
    tokenAddress: string
    contractAddress: string
    nonce: number
    itemCount: number
    total: bigint
  }>,
): Promise<void> {
  await db.query(
    `insert into payout_batches (id, network, kind, token_address, contract_address, status, nonce, item_count, total)
     values ($1, $2, $3, $4, $5, 'broadcast', $6, $7, $8)`,
    [
      input.id,
      input.network,
      input.kind,
      input.tokenAddress.toLowerCase(),
      input.contractAddress.toLowerCase(),
      input.nonce.toString(),
      input.itemCount,
      input.total.toString(),
    ],
  )
}

export async function selectBatch(db: Queryable, id: string, lock = false): Promise<PayoutBatch | undefined> {
  const result = await db.query<BatchRow>(
    `select * from payout_batches where id = $1${lock ? ' for update' : ''}`,
    [id],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toBatch(row)
}

export async function selectOpenBatches(db: Queryable, network: string): Promise<PayoutBatch[]> {
  const result = await db.query<BatchRow>(
    `select * from payout_batches where network = $1 and status in ('broadcast', 'confirmed') order by id`,
    [network],
  )
  return result.rows.map(toBatch)
}

export async function selectOpenApproval(
  db: Queryable,
  network: string,
  tokenAddress: string,
): Promise<PayoutBatch | undefined> {
  const result = await db.query<BatchRow>(
    `select * from payout_batches where network = $1 and kind = 'approve' and token_address = $2
       and status in ('broadcast', 'confirmed') limit 1`,
    [network, tokenAddress.toLowerCase()],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toBatch(row)
}

/** Whether an approve of this token's batch contract ever reverted: then batches stop and payouts go singly. */
export async function hasFailedApproval(
  db: Queryable,
  network: string,
  tokenAddress: string,
): Promise<boolean> {
  const result = await db.query(
    `select 1 from payout_batches where network = $1 and kind = 'approve' and token_address = $2
       and status = 'failed' limit 1`,
    [network, tokenAddress.toLowerCase()],
  )
  return (result.rowCount ?? 0) > 0
}

export async function updateBatch(
  db: Queryable,
  id: string,
  change: Readonly<{
    status?: BatchStatus
    minedHash?: string | null
    blockNumber?: bigint | null
    gasUsed?: bigint
    effectiveGasPrice?: bigint
    error?: string | null
  }>,
): Promise<void> {
  const columns: Record<string, string> = {
    status: 'status',
    minedHash: 'mined_hash',
    blockNumber: 'block_number',
    gasUsed: 'gas_used',
    effectiveGasPrice: 'effective_gas_price',
    error: 'error',
  }
  const sets: string[] = []
  const values: unknown[] = [id]
  for (const [key, value] of Object.entries(change)) {
    values.push(typeof value === 'bigint' ? value.toString() : value)
    sets.push(`${columns[key]} = $${values.length}`)
  }
  await db.query(
    `update payout_batches set ${[...sets, 'updated_at = now()'].join(', ')} where id = $1`,
    values,
  )
}

export async function insertBatchTransaction(
  db: Queryable,
  batchId: string,
  transaction: Omit<BatchTransaction, 'createdAt'>,
): Promise<void> {
  await db.query(
    `insert into payout_batch_transactions (batch_id, attempt, nonce, tx_hash, raw_tx, gas_limit, max_fee_per_gas,
       max_priority_fee_per_gas)
     values ($1, (select coalesce(max(attempt), 0) + 1 from payout_batch_transactions where batch_id = $1),
       $2, $3, $4, $5, $6, $7)`,
    [
      batchId,
      transaction.nonce.toString(),
      transaction.hash.toLowerCase(),
      transaction.rawTransaction,
      transaction.gasLimit.toString(),
      transaction.maxFeePerGas.toString(),
      transaction.maxPriorityFeePerGas.toString(),
    ],
  )
}

export async function selectBatchTransactions(db: Queryable, batchId: string): Promise<BatchTransaction[]> {
  const result = await db.query<{
    nonce: string
    tx_hash: string
    raw_tx: string
    gas_limit: string
    max_fee_per_gas: string
    max_priority_fee_per_gas: string
    created_at: Date
  }>('select * from payout_batch_transactions where batch_id = $1 order by attempt', [batchId])
  return result.rows.map((row) => ({
    nonce: toNonce(row.nonce),
    rawTransaction: row.raw_tx as Hex,
    hash: row.tx_hash as Hex,
    gasLimit: BigInt(row.gas_limit),
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas),
    createdAt: row.created_at,
  }))
}

export async function recordBatchBroadcast(db: Queryable, hash: string): Promise<void> {
  await db.query(
    `update payout_batch_transactions set broadcasts = broadcasts + 1, last_broadcast_at = now()
     where tx_hash = $1`,
    [hash.toLowerCase()],
  )
}

/** The payouts a batch carries, locked in id order (the same order every locker uses: no deadlock). */
export async function selectBatchItems(db: Queryable, batchId: string, lock = false): Promise<Payout[]> {
  const result = await db.query(
    `select * from payouts where batch_id = $1 order by id${lock ? ' for update' : ''}`,
    [batchId],
  )
  return result.rows.map(payoutFromRow)
}

/** Locks queued payouts by id, in id order; those no longer queued are left out. */
export async function lockQueuedPayouts(db: Queryable, ids: readonly string[]): Promise<Payout[]> {
  const result = await db.query(
    `select * from payouts where id = any($1::text[]) and status = 'queued' order by id for update`,
    [ids],
  )
  return result.rows.map(payoutFromRow)
}

/** Tokens of this asset signed but not yet mined: the chain balance still holds them. */
export async function selectUnminedAmount(
  db: Queryable,
  network: string,
  tokenAddress: string,
): Promise<bigint> {
  const result = await db.query<{ amount: string }>(
    `select coalesce(sum(amount), 0)::text as amount from payouts
     where network = $1 and token_address = $2 and status = 'broadcast'`,
    [network, tokenAddress.toLowerCase()],
  )
  return BigInt(result.rows[0]?.amount ?? '0')
}

/**
 * One change for many payouts of a batch, in one statement (a 400-item batch is one round trip, not 400).
 * The caller holds the rows' locks and has checked each status change against the state machine.
 */
export async function updateItems(
  db: Queryable,
  ids: readonly string[],
  change: Readonly<{
    status: string
    nonce?: number
    batchId?: string
    minedHash?: string
    blockNumber?: bigint
    gasUsed?: bigint
    effectiveGasPrice?: bigint
    error: string | null
  }>,
): Promise<void> {
  if (ids.length === 0) return
  await db.query(
    `update payouts set status = $2, error = $3,
       nonce = coalesce($4::bigint, nonce), batch_id = coalesce($5, batch_id),
       mined_hash = coalesce($6, mined_hash), block_number = coalesce($7::numeric, block_number),
       gas_used = coalesce($8::numeric, gas_used), effective_gas_price = coalesce($9::numeric, effective_gas_price),
       revision = revision + 1, updated_at = now()
     where id = any($1::text[])`,
    [
      ids,
      change.status,
      change.error,
      change.nonce?.toString() ?? null,
      change.batchId ?? null,
      change.minedHash ?? null,
      change.blockNumber?.toString() ?? null,
      change.gasUsed?.toString() ?? null,
      change.effectiveGasPrice?.toString() ?? null,
    ],
  )
}
