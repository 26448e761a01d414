import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { fromDatabaseError, ledgerError } from './ledger.errors.ts'
import { ledgerLimits } from './ledger.limits.ts'
import {
  type AccountInsert,
  callExpirePending,
  callFoldHotDeltas,
  callPostTransfer,
  callPostTransfers,
  insertAccountIfAbsent,
  insertAccountsIfAbsent,
  type LegSum,
  selectAccountBalance,
  selectAccountByOwner,
  selectAccountsPage,
  selectLegSums,
  selectOwnerBalances,
  selectStatement,
  selectTransfer,
  type TransferInput,
} from './ledger.repo.ts'
import {
  addBalances,
  availableBalance,
  balancesEqual,
  exceedsBalanceLimits,
  legDeltas,
  postedBalance,
  requestHash,
  systemAccountSpec,
  validateAccountInput,
  validateTransferBatch,
  validateTransferRequest,
  zeroBalances,
} from './ledger.state.ts'
import type {
  Account,
  AccountBalance,
  AccountDrift,
  AccountInput,
  AssetImbalance,
  BalancePoint,
  Balances,
  LedgerVerifyReport,
  OwnerType,
  StatementPage,
  SystemAccountKind,
  Transfer,
  TransferRequest,
  TransferResult,
} from './ledger.types.ts'

/**
 * The ledger's public surface. Every function takes a Queryable so callers can post inside their own
 * transaction (a deposit's status change and its ledger credit commit together). A posting is one round
 * trip; when it fails with an AppError the database has written nothing, but inside a caller's
 * transaction the error still aborts that transaction (roll back, or use a savepoint). Several postings in
 * one transaction should go as one linked batch: the batch takes its locks in a global order, separate
 * calls cannot.
 */

/** Runs a ledger query, mapping the database's coded errors to AppErrors. */
async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw fromDatabaseError(error)
  }
}

function sameAttributes(account: Account, wanted: AccountInsert): boolean {
  return (
    account.normalSide === wanted.normalSide &&
    account.hot === wanted.hot &&
    account.flags.debitsMustNotExceedCredits === wanted.debitsMustNotExceedCredits &&
    account.flags.creditsMustNotExceedDebits === wanted.creditsMustNotExceedDebits
  )
}

/**
 * The account of (owner, purpose, asset), created on first call; idempotent and safe under concurrent
 * callers. An existing account with other attributes (side, limits, hot) is `account-attributes-conflict`.
 */
export async function getOrCreateAccount(db: Queryable, input: AccountInput): Promise<Account> {
  const wanted = accountInsertOf(input)
  // A concurrent creator that commits after our snapshot hides its row from the first statement.
  const account =
    (await run(() => insertAccountIfAbsent(db, wanted))) ??
    (await run(() => selectAccountByOwner(db, wanted)))
  assert(
    account !== undefined,
    `ledger account ${wanted.purpose}/${wanted.assetId} neither inserted nor found`,
  )
  return checkedAttributes(account, wanted)
}

const ownerKeyOf = (key: Pick<AccountInsert, 'ownerType' | 'ownerId' | 'purpose' | 'assetId'>) =>
  JSON.stringify([key.ownerType, key.ownerId, key.purpose, key.assetId])

/**
 * getOrCreateAccount for many accounts in one statement (crediting a range of deposits to as many
 * customers took one round trip per customer); same guarantees. Answers in the order of `inputs`.
 */
export async function getOrCreateAccounts(
  db: Queryable,
  inputs: readonly AccountInput[],
): Promise<Account[]> {
  const wanted = inputs.map(accountInsertOf)
  const distinct = [...new Map(wanted.map((account) => [ownerKeyOf(account), account])).values()]
  const found = new Map<string, Account>()
  for (const account of await run(() => insertAccountsIfAbsent(db, distinct)))
    found.set(ownerKeyOf(account), account)
  const accounts: Account[] = []
  for (const [index, account] of wanted.entries()) {
    // Not returned: a concurrent creator committed after the statement's snapshot; read it alone.
    const existing =
      found.get(ownerKeyOf(account)) ?? (await getOrCreateAccount(db, inputs[index] as AccountInput))
    found.set(ownerKeyOf(account), existing)
    accounts.push(checkedAttributes(existing, account))
  }
  return accounts
}

function checkedAttributes(account: Account, wanted: AccountInsert): Account {
  if (!sameAttributes(account, wanted)) {
    throw ledgerError('account-attributes-conflict', `account ${account.id} exists with other attributes`)
  }
  return account
}

function accountInsertOf(input: AccountInput): AccountInsert {
  validateAccountInput(input)
  return {
    id: newId('acc'),
    assetId: input.assetId,
    ownerType: input.ownerType,
    ownerId: input.ownerId,
    purpose: input.purpose,
    normalSide: input.normalSide,
    debitsMustNotExceedCredits: input.flags?.debitsMustNotExceedCredits ?? false,
    creditsMustNotExceedDebits: input.flags?.creditsMustNotExceedDebits ?? false,
    hot: input.hot ?? false,
  }
}

/** The gateway's own account of `kind` for `assetId` (owner `system`/`sluice`), created on first use. */
export async function getOrCreateSystemAccount(
  db: Queryable,
  kind: SystemAccountKind,
  assetId: string,
): Promise<Account> {
  const spec = systemAccountSpec(kind)
  return await getOrCreateAccount(db, {
    ownerType: 'system',
    ownerId: 'sluice',
    purpose: kind,
    assetId,
    normalSide: spec.normalSide,
    flags: spec.flags,
    hot: spec.hot,
  })
}

function toInput(request: TransferRequest): TransferInput {
  const twoPhase = request.kind === 'post' || request.kind === 'void'
  return {
    id: request.id,
    kind: request.kind,
    debit_account_id: twoPhase ? null : request.debitAccountId,
    credit_account_id: twoPhase ? null : request.creditAccountId,
    asset_id: twoPhase ? null : request.assetId,
    amount: request.kind === 'void' ? null : (request.amount?.toString() ?? null),
    pending_id: twoPhase ? request.pendingId : null,
    timeout_ms: request.kind === 'pending' ? request.timeoutMs : null,
    code: request.code ?? null,
    metadata: request.metadata ?? {},
    request_hash: requestHash(request),
  }
}

/**
 * Writes one transfer (single, pending, post or void) in one round trip. Replaying an id with the same
 * body returns the original with `replayed: true` and no new effect; another body is
 * `idempotency-key-reused`.
 */
export async function createTransfer(db: Queryable, request: TransferRequest): Promise<TransferResult> {
  validateTransferRequest(request)
  const results = await run(() => callPostTransfer(db, toInput(request)))
  const result = results[0]
  assert(results.length === 1 && result !== undefined, `ledger_post_transfer returned ${results.length} rows`)
  return result
}

/** Writes a linked batch in one round trip: every transfer or none; replayed whole or not at all. */
export async function createTransfers(
  db: Queryable,
  requests: readonly TransferRequest[],
): Promise<TransferResult[]> {
  validateTransferBatch(requests)
  const results = await run(() => callPostTransfers(db, requests.map(toInput)))
  assert(
    results.length === requests.length,
    `ledger_post_transfers returned ${results.length} of ${requests.length}`,
  )
  return results
}

/**
 * Voids pending transfers whose timeout has passed (by `now` and by the database clock), in batches of
 * `batchSize`, at most expireBatchesPerRunMax of them. Each batch commits on its own when `db` is the
 * pool. Returns how many were expired; a full last batch means more may remain.
 */
export async function expirePendingTransfers(
  db: Queryable,
  now: Date,
  batchSize: number = ledgerLimits.expireBatchSizeMax,
): Promise<number> {
  assert(
    batchSize >= 1 && batchSize <= ledgerLimits.expireBatchSizeMax,
    `expiry batch size ${batchSize} out of range`,
  )
  let expired = 0
  for (let batch = 0; batch < ledgerLimits.expireBatchesPerRunMax; batch += 1) {
    const count = await run(() => callExpirePending(db, now, batchSize))
    expired += count
    if (count < batchSize) break
  }
  return expired
}

/**
 * Folds hot accounts' deferred balance changes into their rows (the lead schedules it as a job). One
 * folder runs at a time; a concurrent call returns 0. Balances read through this module already include
 * unfolded changes, so folding only bounds the delta table.
 */
export async function foldHotAccountDeltas(
  db: Queryable,
  batchSize: number = ledgerLimits.hotDeltaFoldBatchSizeMax,
): Promise<number> {
  assert(
    batchSize >= 1 && batchSize <= ledgerLimits.hotDeltaFoldBatchSizeMax,
    `fold batch size ${batchSize} out of range`,
  )
  let folded = 0
  for (let batch = 0; batch < ledgerLimits.hotDeltaFoldBatchesPerRunMax; batch += 1) {
    const count = await run(() => callFoldHotDeltas(db, batchSize))
    folded += count
    if (count < batchSize) break
  }
  return folded
}

export async function getTransfer(db: Queryable, id: string): Promise<Transfer | undefined> {
  return await run(() => selectTransfer(db, id))
}

function toAccountBalance(account: Account, balances: Balances): AccountBalance {
  return {
    account,
    balances,
    posted: postedBalance(account.normalSide, balances),
    available: availableBalance(account.normalSide, balances),
  }
}

/** Live balances of one account (hot accounts included: unfolded deltas are added in the same read). */
export async function getAccountBalance(db: Queryable, accountId: string): Promise<AccountBalance> {
  const found = await run(() => selectAccountBalance(db, accountId))
  if (found === undefined) throw ledgerError('account-not-found', `no ledger account ${accountId}`)
  return toAccountBalance(found.account, found.balances)
}

/**
 * Live balances of the gateway's own account of `kind` for `assetId`, or undefined if it was never created
 * (nothing was ever booked to it). Read-only, unlike getOrCreateSystemAccount: for readers such as
 * reconciliation that must not create accounts.
 */
export async function findSystemAccountBalance(
  db: Queryable,
  kind: SystemAccountKind,
  assetId: string,
): Promise<AccountBalance | undefined> {
  const account = await run(() =>
    selectAccountByOwner(db, { ownerType: 'system', ownerId: 'sluice', purpose: kind, assetId }),
  )
  if (account === undefined) return undefined
  return await getAccountBalance(db, account.id)
}

/** Balances of every account of an owner (per asset and purpose), for the merchant API. */
export async function listOwnerBalances(
  db: Queryable,
  ownerType: OwnerType,
  ownerId: string,
): Promise<AccountBalance[]> {
  const rows = await run(() => selectOwnerBalances(db, ownerType, ownerId, ledgerLimits.ownerAccountsMax))
  return rows.map((row) => toAccountBalance(row.account, row.balances))
}

/** Folds per-kind leg sums into counters with the same arithmetic as a single transfer (legDeltas). */
export function foldLegSums(sums: readonly LegSum[]): Map<string, Balances> {
  const balances = new Map<string, Balances>()
  for (const sum of sums) {
    const deltas = legDeltas(sum.kind, sum.amount, sum.released)
    const delta = sum.side === 'debit' ? deltas.debit : deltas.credit
    balances.set(sum.accountId, addBalances(balances.get(sum.accountId) ?? zeroBalances, delta))
  }
  return balances
}

/**
 * An account's balances as of a past point: after transfer `seq`, or at time `at`. Recomputed from the
 * transfers. Transfers commit out of seq order across accounts, so a point is settled once every posting
 * that started before it has finished (at most dbStatementTimeoutMs later).
 */
export async function getBalanceAsOf(
  db: Queryable,
  accountId: string,
  point: BalancePoint,
): Promise<AccountBalance> {
  const found = await run(() => selectAccountBalance(db, accountId))
  if (found === undefined) throw ledgerError('account-not-found', `no ledger account ${accountId}`)
  const bound = 'seq' in point ? { seq: point.seq } : { at: point.at }
  const sums = await run(() => selectLegSums(db, [accountId], bound))
  return toAccountBalance(found.account, foldLegSums(sums).get(accountId) ?? zeroBalances)
}

function statementDelta(side: 'debit' | 'credit', transfer: Transfer, released: bigint): Balances {
  const deltas = legDeltas(transfer.kind, transfer.amount, released)
  return side === 'debit' ? deltas.debit : deltas.credit
}

/** One page of an account's statement, oldest first, keyset-paged by transfer seq. */
export async function getAccountStatement(
  db: Queryable,
  accountId: string,
  options: Readonly<{ afterSeq?: bigint; pageSize?: number }> = {},
): Promise<StatementPage> {
  const pageSize = options.pageSize ?? ledgerLimits.statementPageSizeDefault
  if (pageSize < 1 || pageSize > ledgerLimits.statementPageSizeMax || pageSize % 1 !== 0) {
    throw ledgerError('page-size-invalid', `page size must be 1..${ledgerLimits.statementPageSizeMax}`)
  }
  // One extra row tells whether another page follows.
  const rows = await run(() => selectStatement(db, accountId, options.afterSeq ?? 0n, pageSize + 1))
  const lines = rows.slice(0, pageSize).map(({ transfer, released }) => {
    const side = transfer.debitAccountId === accountId ? 'debit' : 'credit'
    return {
      seq: transfer.seq,
      transferId: transfer.id,
      kind: transfer.kind,
      code: transfer.code,
      side,
      counterpartyAccountId: side === 'debit' ? transfer.creditAccountId : transfer.debitAccountId,
      amount: transfer.amount,
      delta: statementDelta(side, transfer, released),
      metadata: transfer.metadata,
      createdAt: transfer.createdAt,
    } as const
  })
  const last = lines.at(-1)
  return { lines, nextAfterSeq: rows.length > pageSize && last !== undefined ? last.seq : null }
}

type VerifyTally = {
  accountsChecked: number
  drifts: AccountDrift[]
  driftsNotListed: number
  limitViolations: string[]
  totals: Map<string, Balances>
}

async function verifyPage(db: Queryable, afterId: string, tally: VerifyTally): Promise<string | undefined> {
  const page = await selectAccountsPage(db, afterId, ledgerLimits.verifyAccountsPerPage)
  if (page.length === 0) return undefined
  const recomputedById = foldLegSums(
    await selectLegSums(
      db,
      page.map((row) => row.account.id),
    ),
  )
  for (const { account, stored } of page) {
    const recomputed = recomputedById.get(account.id) ?? zeroBalances
    tally.accountsChecked += 1
    tally.totals.set(account.assetId, addBalances(tally.totals.get(account.assetId) ?? zeroBalances, stored))
    if (exceedsBalanceLimits(account.flags, stored)) tally.limitViolations.push(account.id)
    if (balancesEqual(stored, recomputed)) continue
    if (tally.drifts.length < ledgerLimits.verifyDriftsReportedMax) {
      tally.drifts.push({ accountId: account.id, assetId: account.assetId, stored, recomputed })
    } else tally.driftsNotListed += 1
  }
  return page.at(-1)?.account.id
}

/**
 * Recomputes every account's counters from the transfers (with the TypeScript arithmetic, not the SQL
 * that maintains them) and compares them with the stored ones plus unfolded hot deltas; also checks
 * each account's limit and that every asset sums to zero (Σ debits = Σ credits, posted and pending).
 * Reads one snapshot, a page of accounts per query.
 */
export async function verifyLedger(pool: Pool): Promise<LedgerVerifyReport> {
  const tally: VerifyTally = {
    accountsChecked: 0,
    drifts: [],
    driftsNotListed: 0,
    limitViolations: [],
    totals: new Map(),
  }
  await withTransaction(
    pool,
    async (client) => {
      let afterId: string | undefined = ''
      while (afterId !== undefined) {
        const from: string = afterId
        afterId = await run(() => verifyPage(client, from, tally))
      }
    },
    'repeatable read',
  )
  const imbalances: AssetImbalance[] = []
  for (const [assetId, totals] of tally.totals) {
    const balanced =
      totals.debitsPosted === totals.creditsPosted && totals.debitsPending === totals.creditsPending
    if (!balanced) imbalances.push({ assetId, totals })
  }
  const { accountsChecked, drifts, driftsNotListed, limitViolations } = tally
  return { accountsChecked, drifts, driftsNotListed, limitViolations, imbalances }
}
