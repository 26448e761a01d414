import { type Address, type Hex, parseTransaction } from 'viem'
import type { Queryable } from '../../db/pool.ts'
import { assert, assertNever } from '../../lib/assert.ts'
import type {
  GasPlan,
  GasSpent,
  SignedTransaction,
  Sweep,
  SweepStatus,
  TopUp,
  TopUpAttempt,
} from './sweep.types.ts'
import { openSweepStatuses } from './sweep.types.ts'

/**
 * SQL for `sweeps`, `sweep_payments`, `sweep_top_up_transactions` and `hot_wallet_nonces`. It also reads
 * `payments` and `deposit_addresses` (owned by the payments module), read-only: which credited deposits are
 * unswept is a join the payments service has no function for, and the join must run in the sweep's own
 * transaction.
 */

type SweepRow = {
  id: string
  network: string
  deposit_address: string
  hd_account: number
  hd_index: number
  asset_id: string
  token_address: string
  hot_wallet_address: string
  amount: string
  status: SweepStatus
  gas_limit: string | null
  max_fee_per_gas: string | null
  top_up_amount: string | null
  top_up_nonce: string | null
  top_up_raw_tx: string | null
  top_up_tx_hash: string | null
  top_up_gas_used: string | null
  top_up_effective_gas_price: string | null
  sweep_nonce: string | null
  sweep_raw_tx: string | null
  sweep_tx_hash: string | null
  sweep_block_number: string | null
  sweep_gas_used: string | null
  sweep_effective_gas_price: string | null
  broadcasts: number
  error: string | null
  created_at: Date
  updated_at: Date
  finalized_at: Date | null
}

const big = (value: string | null): bigint | null => (value === null ? null : BigInt(value))

/** Nonces are bigint columns read as text; as counters they stay far below 2^53. */
function toNonce(text: string): number {
  const nonce = Number.parseInt(text, 10)
  assert(Number.isSafeInteger(nonce) && nonce >= 0, `nonce ${text} is not a safe integer`)
  return nonce
}

function signed(nonce: string | null, raw: string | null, hash: string | null): SignedTransaction | null {
  if (nonce === null || raw === null || hash === null) return null
  return { nonce: toNonce(nonce), rawTransaction: raw as Hex, hash: hash as Hex }
}

function spentOf(gasUsed: string | null, price: string | null): GasSpent | null {
  return gasUsed === null || price === null
    ? null
    : { gasUsed: BigInt(gasUsed), effectiveGasPrice: BigInt(price) }
}

function gasOf(row: SweepRow): GasPlan | null {
  const gasLimit = big(row.gas_limit)
  const maxFeePerGas = big(row.max_fee_per_gas)
  return gasLimit === null || maxFeePerGas === null ? null : { gasLimit, maxFeePerGas }
}

function topUpOf(row: SweepRow): TopUp | null {
  const amount = big(row.top_up_amount)
  if (amount === null) return null
  return {
    amount,
    transaction: signed(row.top_up_nonce, row.top_up_raw_tx, row.top_up_tx_hash),
    spent: spentOf(row.top_up_gas_used, row.top_up_effective_gas_price),
  }
}

/** Row → the status's variant; the table's CHECKs guarantee the fields, the asserts are their other half. */
function toSweep(row: SweepRow): Sweep {
  const base = {
    id: row.id,
    network: row.network,
    depositAddress: row.deposit_address as Address,
    hdAccount: row.hd_account,
    hdIndex: row.hd_index,
    assetId: row.asset_id,
    tokenAddress: row.token_address as Address,
    hotWalletAddress: row.hot_wallet_address as Address,
    amount: BigInt(row.amount),
    error: row.error,
    broadcasts: row.broadcasts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
  const gas = gasOf(row)
  const topUp = topUpOf(row)
  const transaction = signed(row.sweep_nonce, row.sweep_raw_tx, row.sweep_tx_hash)
  const spent = spentOf(row.sweep_gas_used, row.sweep_effective_gas_price)
  const status = row.status
  switch (status) {
    case 'planned':
      return { ...base, status }
    case 'gas-funding':
      assert(gas !== null && topUp?.transaction != null, `sweep ${row.id}: gas-funding without its top-up`)
      return { ...base, status, gas, topUp: { ...topUp, transaction: topUp.transaction } }
    case 'ready':
      assert(gas !== null && topUp !== null, `sweep ${row.id}: ready without its gas plan`)
      return { ...base, status, gas, topUp }
    case 'sent':
      assert(gas !== null && topUp !== null && transaction !== null, `sweep ${row.id}: sent without its tx`)
      return { ...base, status, gas, topUp, transaction }
    case 'finalized': {
      const blockNumber = big(row.sweep_block_number)
      assert(
        gas !== null && topUp !== null && transaction !== null && spent !== null && blockNumber !== null,
        `sweep ${row.id}: finalized without its receipt`,
      )
      assert(row.finalized_at !== null, `sweep ${row.id}: finalized without a time`)
      return { ...base, status, gas, topUp, transaction, blockNumber, spent, finalizedAt: row.finalized_at }
    }
    case 'failed':
      return { ...base, status, gas, topUp, transaction, spent }
    default:
      return assertNever(status, 'sweep status')
  }
}

const sweepSelect = `select s.*, d.hd_account, d.hd_index from sweeps s
  join deposit_addresses d on d.address = s.deposit_address`

export type SweepCandidate = Readonly<{ address: Address; assetId: string; credited: bigint }>

/**
 * (address, asset) pairs on `network` whose finalized, unswept payments reach their asset's threshold,
 * skipping addresses with an open sweep (one at a time per address) and pairs that failed too often.
 */
export async function selectSweepCandidates(
  db: Queryable,
  input: {
    network: string
    thresholds: readonly { assetId: string; thresholdMinor: bigint }[]
    failedSweepsMax: number
    limit: number
  },
): Promise<SweepCandidate[]> {
  const result = await db.query<{ address: string; asset_id: string; credited: string }>(
    `select p.to_address as address, p.asset_id, sum(p.amount)::text as credited
     from payments p
     join unnest($2::text[], $3::numeric[]) as t (asset_id, threshold) on t.asset_id = p.asset_id
     where p.network = $1 and p.status = 'finalized'
       and not exists (select 1 from sweep_payments sp where sp.payment_id = p.id and sp.active)
       and not exists (select 1 from sweeps s where s.network = $1 and s.deposit_address = p.to_address
                         and s.status = any($6))
       and (select count(*) from sweeps f where f.network = $1 and f.deposit_address = p.to_address
              and f.asset_id = p.asset_id and f.status = 'failed') < $4
     group by p.to_address, p.asset_id, t.threshold
     having sum(p.amount) >= t.threshold
     order by p.to_address, p.asset_id
     limit $5`,
    [
      input.network,
      input.thresholds.map((entry) => entry.assetId),
      input.thresholds.map((entry) => entry.thresholdMinor.toString()),
      input.failedSweepsMax,
      input.limit,
      openSweepStatuses,
    ],
  )
  return result.rows.map((row) => ({
    address: row.address as Address,
    assetId: row.asset_id,
    credited: BigInt(row.credited),
  }))
}

/** The unswept finalized payments of one (network, address, asset), oldest first. */
export async function selectUnsweptPayments(
  db: Queryable,
  input: { network: string; address: string; assetId: string; limit: number },
): Promise<{ id: string; amount: bigint }[]> {
  const result = await db.query<{ id: string; amount: string }>(
    `select p.id, p.amount from payments p
     where p.network = $1 and p.to_address = $2 and p.asset_id = $3 and p.status = 'finalized'
       and not exists (select 1 from sweep_payments sp where sp.payment_id = p.id and sp.active)
     order by p.block_number, p.log_index limit $4`,
    [input.network, input.address, input.assetId, input.limit],
  )
  return result.rows.map((row) => ({ id: row.id, amount: BigInt(row.amount) }))
}

export type SweepInsert = Readonly<{
  id: string
  network: string
  depositAddress: string
  assetId: string
  tokenAddress: string
  hotWalletAddress: string
  amount: bigint
}>

/** Inserts a planned sweep; false when the address already has an open one (a concurrent planner won). */
export async function insertPlannedSweep(db: Queryable, sweep: SweepInsert): Promise<boolean> {
  const result = await db.query(
    `insert into sweeps (id, network, deposit_address, asset_id, token_address, hot_wallet_address, amount, status)
     values ($1, $2, $3, $4, $5, $6, $7, 'planned')
     on conflict do nothing`,
    [
      sweep.id,
      sweep.network,
      sweep.depositAddress,
      sweep.assetId,
      sweep.tokenAddress.toLowerCase(),
      sweep.hotWalletAddress.toLowerCase(),
      sweep.amount.toString(),
    ],
  )
  return result.rowCount === 1
}

export async function insertSweepPayments(
  db: Queryable,
  sweepId: string,
  paymentIds: readonly string[],
): Promise<void> {
  await db.query('insert into sweep_payments (sweep_id, payment_id) select $1, unnest($2::text[])', [
    sweepId,
    paymentIds,
  ])
}

/** A failed sweep's payments become sweepable again; the links stay as history. */
export async function releaseSweepPayments(db: Queryable, sweepId: string): Promise<void> {
  await db.query('update sweep_payments set active = false where sweep_id = $1', [sweepId])
}

export async function selectSweepPaymentIds(
  db: Queryable,
  sweepId: string,
  limit: number,
): Promise<string[]> {
  const result = await db.query<{ payment_id: string }>(
    'select payment_id from sweep_payments where sweep_id = $1 order by payment_id limit $2',
    [sweepId, limit],
  )
  return result.rows.map((row) => row.payment_id)
}

export async function selectSweepsByStatus(
  db: Queryable,
  network: string,
  status: SweepStatus,
  limit: number,
): Promise<Sweep[]> {
  const result = await db.query<SweepRow>(
    `${sweepSelect} where s.network = $1 and s.status = $2 order by s.created_at, s.id limit $3`,
    [network, status, limit],
  )
  return result.rows.map(toSweep)
}

export async function selectSweeps(
  db: Queryable,
  filter: { network?: string; depositAddress?: string },
  limit: number,
): Promise<Sweep[]> {
  const result = await db.query<SweepRow>(
    `${sweepSelect} where ($1::text is null or s.network = $1) and ($2::text is null or s.deposit_address = $2)
     order by s.created_at, s.id limit $3`,
    [filter.network ?? null, filter.depositAddress?.toLowerCase() ?? null, limit],
  )
  return result.rows.map(toSweep)
}

/** The sweep, row-locked until the caller's transaction ends: every status change goes through this. */
export async function lockSweep(db: Queryable, id: string): Promise<Sweep | undefined> {
  const result = await db.query<SweepRow>(`${sweepSelect} where s.id = $1 for update of s`, [id])
  return result.rows[0] === undefined ? undefined : toSweep(result.rows[0])
}

export type SweepPatch = Readonly<{
  status?: SweepStatus
  gas?: GasPlan
  topUpAmount?: bigint
  topUpTransaction?: SignedTransaction
  topUpSpent?: GasSpent
  transaction?: SignedTransaction
  blockNumber?: bigint
  spent?: GasSpent
  error?: string | null
  finalized?: true
  /** Resets the broadcast counter: a new transaction has not been broadcast yet. */
  newTransaction?: true
}>

function patchColumns(patch: SweepPatch): [string, unknown][] {
  const columns: [string, unknown][] = []
  const add = (column: string, value: unknown) => columns.push([column, value])
  if (patch.status !== undefined) add('status', patch.status)
  if (patch.gas !== undefined) {
    add('gas_limit', patch.gas.gasLimit.toString())
    add('max_fee_per_gas', patch.gas.maxFeePerGas.toString())
  }
  if (patch.topUpAmount !== undefined) add('top_up_amount', patch.topUpAmount.toString())
  if (patch.topUpTransaction !== undefined) {
    add('top_up_nonce', patch.topUpTransaction.nonce)
    add('top_up_raw_tx', patch.topUpTransaction.rawTransaction.toLowerCase())
    add('top_up_tx_hash', patch.topUpTransaction.hash.toLowerCase())
  }
  if (patch.topUpSpent !== undefined) {
    add('top_up_gas_used', patch.topUpSpent.gasUsed.toString())
    add('top_up_effective_gas_price', patch.topUpSpent.effectiveGasPrice.toString())
  }
  if (patch.transaction !== undefined) {
    add('sweep_nonce', patch.transaction.nonce)
    add('sweep_raw_tx', patch.transaction.rawTransaction.toLowerCase())
    add('sweep_tx_hash', patch.transaction.hash.toLowerCase())
  }
  if (patch.blockNumber !== undefined) add('sweep_block_number', patch.blockNumber.toString())
  if (patch.spent !== undefined) {
    add('sweep_gas_used', patch.spent.gasUsed.toString())
    add('sweep_effective_gas_price', patch.spent.effectiveGasPrice.toString())
  }
  if (patch.error !== undefined) add('error', patch.error?.slice(0, 2000) ?? null)
  return columns
}

/** Applies `patch` if the sweep is still in `expected`; anything else means a lost race, which is a bug here. */
export async function updateSweep(
  db: Queryable,
  id: string,
  expected: SweepStatus,
  patch: SweepPatch,
): Promise<void> {
  const columns = patchColumns(patch)
  const assignments = columns.map(([column], index) => `${column} = $${index + 3}`)
  if (patch.finalized === true) assignments.push('finalized_at = now()')
  if (patch.newTransaction === true) assignments.push('broadcasts = 0', 'last_broadcast_at = null')
  assignments.push('updated_at = now()')
  const result = await db.query(`update sweeps set ${assignments.join(', ')} where id = $1 and status = $2`, [
    id,
    expected,
    ...columns.map(([, value]) => value),
  ])
  assert(result.rowCount === 1, `sweep ${id} was not in status ${expected}`)
}

type TopUpAttemptRow = {
  attempt: number
  nonce: string
  tx_hash: string
  raw_tx: string
  max_fee_per_gas: string
  max_priority_fee_per_gas: string | null
  created_at: Date
}

/** Stores one signed top-up attempt, before it is broadcast, in the caller's (signing) transaction. */
export async function insertTopUpAttempt(
  db: Queryable,
  sweepId: string,
  attempt: Omit<TopUpAttempt, 'attempt'>,
): Promise<void> {
  await db.query(
    `insert into sweep_top_up_transactions (sweep_id, attempt, nonce, tx_hash, raw_tx, max_fee_per_gas,
       max_priority_fee_per_gas, created_at)
     values ($1, (select coalesce(max(attempt), 0) + 1 from sweep_top_up_transactions where sweep_id = $1),
       $2, $3, $4, $5, $6, $7)`,
    [
      sweepId,
      attempt.nonce.toString(),
      attempt.hash.toLowerCase(),
      attempt.rawTransaction.toLowerCase(),
      attempt.maxFeePerGas.toString(),
      attempt.maxPriorityFeePerGas.toString(),
      attempt.createdAt,
    ],
  )
}

/** Every top-up attempt of a sweep, first first; `limit` is sweepLimits.topUpAttemptsMax. */
export async function selectTopUpAttempts(
  db: Queryable,
  sweepId: string,
  limit: number,
): Promise<TopUpAttempt[]> {
  const result = await db.query<TopUpAttemptRow>(
    'select * from sweep_top_up_transactions where sweep_id = $1 order by attempt limit $2',
    [sweepId, limit],
  )
  return result.rows.map((row) => ({
    attempt: row.attempt,
    nonce: toNonce(row.nonce),
    hash: row.tx_hash as Hex,
    rawTransaction: row.raw_tx as Hex,
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    // Null only on rows migration 0026 copied: the tip is in the signed bytes.
    maxPriorityFeePerGas:
      row.max_priority_fee_per_gas === null
        ? (parseTransaction(row.raw_tx as Hex).maxPriorityFeePerGas ?? 0n)
        : BigInt(row.max_priority_fee_per_gas),
    createdAt: row.created_at,
  }))
}

/** Counts a broadcast of one top-up attempt (operators: an attempt broadcast many times is stuck). */
export async function recordTopUpAttemptBroadcast(db: Queryable, hash: string): Promise<void> {
  await db.query(
    `update sweep_top_up_transactions set broadcasts = broadcasts + 1, last_broadcast_at = now()
     where tx_hash = $1`,
    [hash.toLowerCase()],
  )
}

/** Counts a broadcast; only for operators (a sweep broadcast many times without a receipt is stuck). */
export async function recordBroadcast(db: Queryable, id: string): Promise<void> {
  await db.query('update sweeps set broadcasts = broadcasts + 1, last_broadcast_at = now() where id = $1', [
    id,
  ])
}

/** Notes why an open sweep is waiting (shown to operators); cleared by the next status change. */
export async function recordWaitingReason(db: Queryable, id: string, reason: string | null): Promise<void> {
  await db.query(
    'update sweeps set error = $2, updated_at = now() where id = $1 and error is distinct from $2',
    [id, reason?.slice(0, 2000) ?? null],
  )
}

/**
 * Takes the hot wallet's next nonce on `network` and advances the sequence, under the row lock until the
 * caller commits. `chainPendingCount` seeds the row on first use and lets the sequence skip forward when
 * something outside Sluice used nonces; it never moves backwards, so a nonce is handed out once.
 */
export async function takeHotWalletNonce(
  db: Queryable,
  input: { network: string; address: string; chainPendingCount: number },
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
  let nonce = stored
  if (input.chainPendingCount > nonce) nonce = input.chainPendingCount
  await db.query(
    'update hot_wallet_nonces set next_nonce = $3, updated_at = now() where network = $1 and address = $2',
    [input.network, address, nonce + 1],
  )
  return nonce
}

export async function selectHotWalletNextNonce(
  db: Queryable,
  network: string,
  address: string,
): Promise<number | undefined> {
  const result = await db.query<{ next_nonce: string }>(
    'select next_nonce from hot_wallet_nonces where network = $1 and address = $2',
    [network, address.toLowerCase()],
  )
  return result.rows[0] === undefined ? undefined : toNonce(result.rows[0].next_nonce)
}

/**
 * Records the gateway's hot wallet on `network` (a signing worker does at start), so readers without a
 * key — the API's dashboard — know which address to show. Seeds the nonce row at 0: the first nonce
 * taken is the chain's pending count anyway (takeHotWalletNonce never hands out below it).
 */
export async function registerHotWallet(db: Queryable, network: string, address: string): Promise<void> {
  await db.query(
    `insert into hot_wallet_nonces (network, address, next_nonce) values ($1, $2, 0)
     on conflict (network, address) do nothing`,
    [network, address.toLowerCase()],
  )
}

/** The hot wallet address recorded on `network` (the most recently used, if the seed ever changed). */
export async function selectHotWalletAddress(db: Queryable, network: string): Promise<string | undefined> {
  const result = await db.query<{ address: string }>(
    'select address from hot_wallet_nonces where network = $1 order by updated_at desc limit 1',
    [network],
  )
  return result.rows[0]?.address
}
