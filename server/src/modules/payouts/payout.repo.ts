import type { Hex } from 'viem'
import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import type {
  NetworkFee,
  Payout,
  PayoutApprover,
  PayoutRole,
  PayoutSignedTransaction,
  PayoutStatus,
} from './payout.types.ts'

/** SQL for the payouts tables (0012-payouts.sql) and the shared `hot_wallet_nonces` row. */

type PayoutRow = {
  id: string
  merchant_id: string
  network: string
  asset_id: string
  token_address: string
  decimals: number
  destination: string
  amount: string
  external_reference: string | null
  status: PayoutStatus
  revision: number
  initiator_api_key_id: string
  policy_version: number | null
  rule_id: string | null
  approvals_required: number
  approval_role: PayoutRole | null
  execute_after: Date | null
  reservation_id: string
  mined_hash: string | null
  block_number: string | null
  error: string | null
  batch_id: string | null
  parent_payout_id: string | null
  canary_payout_id: string | null
  network_fee_wei: string | null
  network_fee_in_asset: string | null
  network_fee_rate: string | null
  created_at: Date
  updated_at: Date
}

function toPayout(row: PayoutRow): Payout {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    network: row.network,
    assetId: row.asset_id,
    tokenAddress: row.token_address,
    decimals: row.decimals,
    destination: row.destination,
    amount: BigInt(row.amount),
    externalReference: row.external_reference,
    status: row.status,
    revision: row.revision,
    initiatorApiKeyId: row.initiator_api_key_id,
    policyVersion: row.policy_version,
    ruleId: row.rule_id,
    approvalsRequired: row.approvals_required,
    approvalRole: row.approval_role,
    executeAfter: row.execute_after,
    reservationId: row.reservation_id,
    minedHash: row.mined_hash as Hex | null,
    blockNumber: row.block_number === null ? null : BigInt(row.block_number),
    error: row.error,
    batchId: row.batch_id,
    parentPayoutId: row.parent_payout_id,
    canaryPayoutId: row.canary_payout_id,
    networkFee:
      row.network_fee_wei === null
        ? null
        : {
            wei: BigInt(row.network_fee_wei),
            inAssetMinor: row.network_fee_in_asset === null ? null : BigInt(row.network_fee_in_asset),
            rate: row.network_fee_rate,
          },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export type PayoutInsert = Readonly<{
  id: string
  merchantId: string
  network: string
  assetId: string
  tokenAddress: string
  decimals: number
  destination: string
  amount: bigint
  amountScaled: bigint
  externalReference: string | null
  initiatorApiKeyId: string
  reservationId: string
  parentPayoutId?: string | null
}>

export async function insertPayout(db: Queryable, input: PayoutInsert): Promise<Payout> {
  const result = await db.query<PayoutRow>(
    `insert into payouts (id, merchant_id, network, asset_id, token_address, decimals, destination, amount,
       amount_scaled, external_reference, status, initiator_api_key_id, reservation_id, parent_payout_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'requested', $11, $12, $13) returning *`,
    [
      input.id,
      input.merchantId,
      input.network,
      input.assetId,
      input.tokenAddress.toLowerCase(),
      input.decimals,
      input.destination,
      input.amount.toString(),
      input.amountScaled.toString(),
      input.externalReference,
      input.initiatorApiKeyId,
      input.reservationId,
      input.parentPayoutId ?? null,
    ],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'insert returns the payout')
  return toPayout(row)
}

export async function selectPayout(
  db: Queryable,
  merchantId: string | null,
  id: string,
  lock = false,
): Promise<Payout | undefined> {
  const result = await db.query<PayoutRow>(
    `select * from payouts where id = $1 and ($2::text is null or merchant_id = $2)${lock ? ' for update' : ''}`,
    [id, merchantId],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toPayout(row)
}

export async function selectPayoutByReference(
  db: Queryable,
  merchantId: string,
  reference: string,
): Promise<Payout | undefined> {
  const result = await db.query<PayoutRow>(
    'select * from payouts where merchant_id = $1 and external_reference = $2',
    [merchantId, reference],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toPayout(row)
}

export async function selectPayouts(
  db: Queryable,
  filter: Readonly<{ merchantId?: string; network?: string; status?: PayoutStatus; startingAfter?: string }>,
  limit: number,
): Promise<Payout[]> {
  const result = await db.query<PayoutRow>(
    `select * from payouts
     where ($1::text is null or merchant_id = $1) and ($2::text is null or network = $2)
       and ($3::text is null or status = $3) and ($4::text is null or id < $4)
     order by id desc limit $5`,
    [
      filter.merchantId ?? null,
      filter.network ?? null,
      filter.status ?? null,
      filter.startingAfter ?? null,
      limit,
    ],
  )
  return result.rows.map(toPayout)
}

/** Open payouts of a network in a status, oldest first (the transaction manager's work list). */
export async function selectOpenPayouts(
  db: Queryable,
  network: string,
  status: PayoutStatus,
  limit: number,
  singlesOnly = false,
): Promise<Payout[]> {
  const result = await db.query<PayoutRow>(
    // Items of a batch (batch_id set) are resolved with their batch, not one by one.
    `select * from payouts where network = $1 and status = $2
       and ($4::boolean is false or batch_id is null) order by id limit $3`,
    [network, status, limit, singlesOnly],
  )
  return result.rows.map(toPayout)
}

/** Row of the payouts table as stored (for sibling repos of this module). */
export function payoutFromRow(row: Record<string, unknown>): Payout {
  return toPayout(row as PayoutRow)
}

export type PayoutChange = Readonly<{
  status?: PayoutStatus
  policyVersion?: number | null
  ruleId?: string | null
  approvalsRequired?: number
  approvalRole?: PayoutRole | null
  executeAfter?: Date | null
  nonce?: number
  minedHash?: string | null
  blockNumber?: bigint | null
  gasUsed?: bigint
  effectiveGasPrice?: bigint
  error?: string | null
  batchId?: string | null
  canaryPayoutId?: string | null
}>

const changeColumns: Readonly<Record<keyof PayoutChange, string>> = {
  status: 'status',
  policyVersion: 'policy_version',
  ruleId: 'rule_id',
  approvalsRequired: 'approvals_required',
  approvalRole: 'approval_role',
  executeAfter: 'execute_after',
  nonce: 'nonce',
  minedHash: 'mined_hash',
  blockNumber: 'block_number',
  gasUsed: 'gas_used',
  effectiveGasPrice: 'effective_gas_price',
  error: 'error',
  batchId: 'batch_id',
  canaryPayoutId: 'canary_payout_id',
}

/** Applies `change` and bumps the revision; the caller holds the row lock. */
export async function updatePayout(db: Queryable, id: string, change: PayoutChange): Promise<Payout> {
  const sets: string[] = []
  const values: unknown[] = [id]
  for (const [key, value] of Object.entries(change)) {
    const column = changeColumns[key as keyof PayoutChange]
    values.push(typeof value === 'bigint' ? value.toString() : value)
    sets.push(`${column} = $${values.length}`)
  }
  const result = await db.query<PayoutRow>(
    `update payouts set ${[...sets, 'revision = revision + 1', 'updated_at = now()'].join(', ')}
     where id = $1 returning *`,
    values,
  )
  const row = result.rows[0]
  assert(row !== undefined, `payout ${id} vanished`)
  return toPayout(row)
}

/** Sum and count of a store's live payouts since `since`, optionally of one initiator or destination. */
/** Records a TOTP attempt for an approver, presumed wrong, and prunes every attempt older than `expired`. */
export async function insertTotpAttempt(
  db: Queryable,
  approverId: string,
  now: Date,
  expired: Date,
): Promise<string> {
  const result = await db.query<{ id: string }>(
    `with pruned as (delete from approver_totp_failures where created_at <= $3)
     insert into approver_totp_failures (approver_id, created_at) values ($1, $2) returning id`,
    [approverId, now, expired],
  )
  return result.rows[0]?.id ?? ''
}

/** Wrong codes for the approver since `since` (exclusive), and the oldest of them. */
export async function selectTotpFailures(
  db: Queryable,
  approverId: string,
  since: Date,
): Promise<{ count: number; oldest: Date | null }> {
  const result = await db.query<{ count: number; oldest: Date | null }>(
    `select count(*)::int as count, min(created_at) as oldest from approver_totp_failures
     where approver_id = $1 and created_at > $2`,
    [approverId, since],
  )
  return { count: result.rows[0]?.count ?? 0, oldest: result.rows[0]?.oldest ?? null }
}

export async function deleteTotpAttempt(db: Queryable, id: string): Promise<void> {
  await db.query('delete from approver_totp_failures where id = $1', [id])
}

/**
 * Takes the transaction's window locks (payout.service.ts lockPolicyWindows): the installation's, exclusive
 * or shared, then the store's when `store` is set. Held until the transaction ends.
 */
export async function lockWindows(
  db: Queryable,
  input: Readonly<{ installationExclusive: boolean; store: string | null }>,
): Promise<void> {
  const installation = input.installationExclusive ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'
  await db.query(
    `select ${installation}(hashtextextended('payout-windows', 0))${
      input.store === null ? '' : ", pg_advisory_xact_lock(hashtextextended('payout-windows:' || $1, 0))"
    }`,
    input.store === null ? [] : [input.store],
  )
}

export async function selectWindowUsage(
  db: Queryable,
  input: Readonly<{
    /** null: every store of the installation (a rule's `all` window). */
    merchantId: string | null
    since: Date
    initiatorApiKeyId?: string
    destination?: string
  }>,
): Promise<{ amount: bigint; count: number }> {
  const result = await db.query<{ amount: string; count: number }>(
    `select coalesce(sum(amount_scaled), 0)::text as amount, count(*)::int as count from payouts
     where ($1::text is null or merchant_id = $1) and created_at >= $2
       and status not in ('cancelled', 'blocked', 'failed', 'requested')
       and ($3::text is null or initiator_api_key_id = $3) and ($4::text is null or lower(destination) = $4)`,
    [input.merchantId, input.since, input.initiatorApiKeyId ?? null, input.destination ?? null],
  )
  const row = result.rows[0]
  return { amount: BigInt(row?.amount ?? '0'), count: row?.count ?? 0 }
}

type TransactionRow = {
  nonce: string
  tx_hash: string
  raw_tx: string
  max_fee_per_gas: string
  max_priority_fee_per_gas: string
  created_at: Date
}

export async function insertPayoutTransaction(
  db: Queryable,
  payoutId: string,
  transaction: Omit<PayoutSignedTransaction, 'createdAt'>,
): Promise<void> {
  await db.query(
    `insert into payout_transactions (payout_id, attempt, nonce, tx_hash, raw_tx, max_fee_per_gas,
       max_priority_fee_per_gas)
     values ($1, (select coalesce(max(attempt), 0) + 1 from payout_transactions where payout_id = $1),
       $2, $3, $4, $5, $6)`,
    [
      payoutId,
      transaction.nonce.toString(),
      transaction.hash.toLowerCase(),
      transaction.rawTransaction,
      transaction.maxFeePerGas.toString(),
      transaction.maxPriorityFeePerGas.toString(),
    ],
  )
}

/** Every transaction signed for a payout, first attempt first. */
export async function selectPayoutTransactions(
  db: Queryable,
  payoutId: string,
): Promise<PayoutSignedTransaction[]> {
  const result = await db.query<TransactionRow>(
    'select * from payout_transactions where payout_id = $1 order by attempt',
    [payoutId],
  )
  return result.rows.map((row) => ({
    nonce: toNonce(row.nonce),
    rawTransaction: row.raw_tx as Hex,
    hash: row.tx_hash as Hex,
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas),
    createdAt: row.created_at,
  }))
}

export async function recordTransactionBroadcast(db: Queryable, hash: string): Promise<void> {
  await db.query(
    'update payout_transactions set broadcasts = broadcasts + 1, last_broadcast_at = now() where tx_hash = $1',
    [hash.toLowerCase()],
  )
}

/** Nonces are bigint columns read as text; as counters they stay far below 2^53. */
function toNonce(text: string): number {
  const nonce = Number.parseInt(text, 10)
  assert(Number.isSafeInteger(nonce) && nonce >= 0, `nonce ${text} is not a safe integer`)
  return nonce
}

/**
 * The hot wallet's next nonce, from the row sweeps use too (same SQL as sweep.repo.ts takeHotWalletNonce:
 * the module rules keep us from importing it). The row lock serialises every signer of this address; a
 * chain count above the stored one (a transaction sent from elsewhere) wins.
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
  const nonce = input.chainPendingCount > stored ? input.chainPendingCount : stored
  await db.query(
    'update hot_wallet_nonces set next_nonce = $3, updated_at = now() where network = $1 and address = $2',
    [input.network, address, nonce + 1],
  )
  return nonce
}

type ApproverRow = {
  id: string
  merchant_id: string
  name: string
  roles: PayoutRole[]
  api_key_id: string | null
  totp_secret: string
  totp_last_step: string | null
  created_at: Date
}

export type ApproverWithSecret = PayoutApprover & { totpSecret: string; totpLastStep: bigint | null }

export async function insertApprover(
  db: Queryable,
  input: Readonly<{
    id: string
    merchantId: string
    name: string
    roles: readonly PayoutRole[]
    apiKeyId: string | null
    totpSecret: string
  }>,
): Promise<void> {
  await db.query(
    `insert into payout_approvers (id, merchant_id, name, roles, api_key_id, totp_secret)
     values ($1, $2, $3, $4, $5, $6)`,
    [input.id, input.merchantId, input.name, input.roles, input.apiKeyId, input.totpSecret],
  )
}

export async function selectApprover(
  db: Queryable,
  merchantId: string,
  id: string,
  lock = false,
): Promise<ApproverWithSecret | undefined> {
  const result = await db.query<ApproverRow>(
    `select * from payout_approvers where merchant_id = $1 and id = $2${lock ? ' for update' : ''}`,
    [merchantId, id],
  )
  const row = result.rows[0]
  if (row === undefined) return undefined
  return {
    id: row.id,
    merchantId: row.merchant_id,
    name: row.name,
    roles: row.roles,
    apiKeyId: row.api_key_id,
    createdAt: row.created_at,
    totpSecret: row.totp_secret,
    totpLastStep: row.totp_last_step === null ? null : BigInt(row.totp_last_step),
  }
}

export async function recordTotpStep(db: Queryable, approverId: string, step: bigint): Promise<void> {
  await db.query('update payout_approvers set totp_last_step = $2 where id = $1', [
    approverId,
    step.toString(),
  ])
}

/** Inserts a decision; false when this approver already decided on this payout. */
export async function insertApproval(
  db: Queryable,
  input: Readonly<{
    payoutId: string
    approverId: string
    decision: 'approve' | 'reject'
    apiKeyId: string
    revision: number
    reason: string | null
  }>,
): Promise<boolean> {
  const result = await db.query(
    `insert into payout_approvals (payout_id, approver_id, decision, api_key_id, revision, reason)
     values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
    [input.payoutId, input.approverId, input.decision, input.apiKeyId, input.revision, input.reason],
  )
  return result.rowCount === 1
}

export async function countApprovals(db: Queryable, payoutId: string): Promise<number> {
  const result = await db.query<{ count: number }>(
    "select count(*)::int as count from payout_approvals where payout_id = $1 and decision = 'approve'",
    [payoutId],
  )
  return result.rows[0]?.count ?? 0
}

export async function insertAudit(
  db: Queryable,
  input: Readonly<{
    merchantId: string
    subjectId: string
    action: string
    actor: string
    detail?: Record<string, string | number | null>
  }>,
): Promise<void> {
  await db.query(
    'insert into payout_audit (merchant_id, subject_id, action, actor, detail) values ($1, $2, $3, $4, $5)',
    [input.merchantId, input.subjectId, input.action, input.actor, JSON.stringify(input.detail ?? {})],
  )
}

export async function selectAudit(
  db: Queryable,
  subjectId: string,
): Promise<{ action: string; actor: string; detail: Record<string, unknown> }[]> {
  const result = await db.query<{ action: string; actor: string; detail: Record<string, unknown> }>(
    'select action, actor, detail from payout_audit where subject_id = $1 order by id',
    [subjectId],
  )
  return result.rows
}

export async function selectPanicEngaged(
  db: Queryable,
  merchantId: string,
  network: string,
): Promise<boolean> {
  const result = await db.query(
    `select 1 from payout_panic where engaged and merchant_id in ($1, '*') and network in ($2, '*') limit 1`,
    [merchantId, network],
  )
  return (result.rowCount ?? 0) > 0
}

export async function upsertPanic(
  db: Queryable,
  input: Readonly<{
    merchantId: string
    network: string
    engaged: boolean
    changedBy: string
    reason: string | null
  }>,
): Promise<void> {
  await db.query(
    `insert into payout_panic (merchant_id, network, engaged, changed_by, reason) values ($1, $2, $3, $4, $5)
     on conflict (merchant_id, network) do update
       set engaged = excluded.engaged, changed_by = excluded.changed_by, reason = excluded.reason, changed_at = now()`,
    [input.merchantId, input.network, input.engaged, input.changedBy, input.reason],
  )
}

/** The store's entry for `address` that applies on `network` (an entry without a network applies on all). */
export async function selectAddressBookEntry(
  db: Queryable,
  merchantId: string,
  address: string,
  network: string,
): Promise<{ whitelisted: boolean } | undefined> {
  const result = await db.query<{ whitelisted: boolean }>(
    `select whitelisted from payout_address_book
     where merchant_id = $1 and address = $2 and (network is null or network = $3)`,
    [merchantId, address.toLowerCase(), network],
  )
  return result.rows[0]
}

export async function upsertAddressBookEntry(
  db: Queryable,
  input: Readonly<{ merchantId: string; address: string; label: string | null; whitelisted: boolean }>,
): Promise<void> {
  await db.query(
    // The id is derived from (store, address), the entry's key; API-created entries get theirs from the service.
    `insert into payout_address_book (id, merchant_id, address, label, whitelisted)
     values ('pab_' || upper(substr(md5($1 || ':' || $2), 1, 26)), $1, $2, $3, $4)
     on conflict (merchant_id, address) do update set label = excluded.label, whitelisted = excluded.whitelisted`,
    [input.merchantId, input.address.toLowerCase(), input.label, input.whitelisted],
  )
}

export type PolicyRow = Readonly<{
  version: number
  policy: unknown
  status: 'proposed' | 'active' | 'superseded' | 'rejected'
  proposedBy: string
  approvedBy: string | null
}>

export async function selectPolicy(
  db: Queryable,
  merchantId: string,
  which: Readonly<{ active: true }> | Readonly<{ version: number }>,
  lock = false,
): Promise<PolicyRow | undefined> {
  const where = 'active' in which ? "status = 'active'" : 'version = $2'
  const values = 'active' in which ? [merchantId] : [merchantId, which.version]
  const result = await db.query<{
    version: number
    policy: unknown
    status: PolicyRow['status']
    proposed_by: string
    approved_by: string | null
  }>(`select * from payout_policies where merchant_id = $1 and ${where}${lock ? ' for update' : ''}`, values)
  const row = result.rows[0]
  if (row === undefined) return undefined
  return {
    version: row.version,
    policy: row.policy,
    status: row.status,
    proposedBy: row.proposed_by,
    approvedBy: row.approved_by,
  }
}

export async function insertPolicy(
  db: Queryable,
  input: Readonly<{ merchantId: string; policy: unknown; proposedBy: string }>,
): Promise<number> {
  // Serialises proposals of one store so versions stay gap-free.
  await db.query('select pg_advisory_xact_lock(hashtext($1))', [`payout-policy:${input.merchantId}`])
  const result = await db.query<{ version: number }>(
    `insert into payout_policies (merchant_id, version, policy, status, proposed_by)
     values ($1, (select coalesce(max(version), 0) + 1 from payout_policies where merchant_id = $1), $2, 'proposed', $3)
     returning version`,
    [input.merchantId, JSON.stringify(input.policy), input.proposedBy],
  )
  const version = result.rows[0]?.version
  assert(version !== undefined, 'insert returns the version')
  return version
}

export async function activatePolicy(
  db: Queryable,
  input: Readonly<{ merchantId: string; version: number; approvedBy: string }>,
): Promise<void> {
  await db.query(
    "update payout_policies set status = 'superseded' where merchant_id = $1 and status = 'active'",
    [input.merchantId],
  )
  await db.query(
    `update payout_policies set status = 'active', approved_by = $3, approved_at = now()
     where merchant_id = $1 and version = $2`,
    [input.merchantId, input.version, input.approvedBy],
  )
}

/** Records what each payout's transaction cost (see 0020-payout-network-fees.sql), one statement for many. */
export async function setNetworkFees(
  db: Queryable,
  fees: readonly Readonly<{ payoutId: string } & NetworkFee>[],
) {
  if (fees.length === 0) return
  await db.query(
    `update payouts set network_fee_wei = input.wei, network_fee_in_asset = input.in_asset,
       network_fee_rate = input.rate
     from unnest($1::text[], $2::numeric[], $3::numeric[], $4::text[]) as input (id, wei, in_asset, rate)
     where payouts.id = input.id`,
    [
      fees.map((fee) => fee.payoutId),
      fees.map((fee) => fee.wei.toString()),
      fees.map((fee) => fee.inAssetMinor?.toString() ?? null),
      fees.map((fee) => fee.rate),
    ],
  )
}
