import { createHash } from 'node:crypto'
import { uint256Max } from '../../../../sdk/src/money.ts'
import { assert, assertNever } from '../../lib/assert.ts'
import { type LedgerErrorCode, ledgerError } from './ledger.errors.ts'
import { ledgerLimits } from './ledger.limits.ts'
import type {
  AccountFlags,
  AccountInput,
  Balances,
  Metadata,
  NormalSide,
  PendingStatus,
  SystemAccountKind,
  Transfer,
  TransferKind,
  TransferRequest,
} from './ledger.types.ts'

/**
 * The TypeScript half of every ledger invariant, pure: request validation before any write, and the
 * balance arithmetic and pending-transfer rules that PostgreSQL enforces again (0002-ledger.sql). The
 * verify command and the property tests recompute balances with these functions, independently of the
 * SQL that maintains them.
 */

// Plain repetition plus a separate length check, mirroring the SQL (see the migration's header).
const transferIdPattern = /^[A-Za-z0-9][A-Za-z0-9_:.@-]*$/
const codePattern = /^[a-z][a-z0-9-]*$/
const assetIdPattern = /^[A-Za-z0-9.-]{1,16}@[a-z][a-z0-9-]{0,31}$/
const ownerIdPattern = /^[A-Za-z0-9_:.-]{1,64}$/
const purposePattern = /^[a-z][a-z0-9-]{0,63}$/

export const zeroBalances: Balances = {
  debitsPending: 0n,
  debitsPosted: 0n,
  creditsPending: 0n,
  creditsPosted: 0n,
}

function fail(code: LedgerErrorCode, path: string, message: string): never {
  throw ledgerError(code, `${path}: ${message}`, { details: [{ path, message }] })
}

function isText(value: unknown): value is string {
  return typeof value === 'string'
}

export function validateTransferId(id: unknown, path: string): void {
  const valid =
    isText(id) &&
    id.length <= ledgerLimits.transferIdLengthMax &&
    transferIdPattern.test(id) &&
    !id.startsWith('expire:')
  if (!valid) {
    fail(
      'transfer-invalid',
      path,
      `must be 1-${ledgerLimits.transferIdLengthMax} of [A-Za-z0-9_:.@-], not expire:…`,
    )
  }
}

export function validateCode(code: unknown, path: string): void {
  if (!isText(code) || code.length > ledgerLimits.codeLengthMax || !codePattern.test(code)) {
    fail('transfer-invalid', path, `must be kebab-case, at most ${ledgerLimits.codeLengthMax} characters`)
  }
}

export function validateAssetId(assetId: unknown, path: string): void {
  if (!isText(assetId) || !assetIdPattern.test(assetId))
    fail('transfer-invalid', path, 'must look like USDT@ethereum')
}

/** Amounts are minor units in 1..2^256-1: zero moves nothing, and nothing on chain exceeds uint256. */
export function validateAmount(amount: unknown, path: string): void {
  if (typeof amount !== 'bigint' || amount <= 0n || amount > uint256Max) {
    fail('transfer-amount-invalid', path, 'must be a bigint in 1..2^256-1')
  }
}

/** UTF-8 bytes of keys plus values: the measure 0002-ledger.sql uses too. */
export function metadataBytes(metadata: Metadata): number {
  let bytes = 0
  for (const [key, value] of Object.entries(metadata))
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
  return bytes
}

export function validateMetadata(metadata: unknown, path: string): void {
  if (metadata === undefined) return
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    fail('transfer-invalid', path, 'must be an object of string values')
  }
  const entries = Object.entries(metadata)
  if (!entries.every(([, value]) => isText(value))) fail('transfer-invalid', path, 'values must be strings')
  if (entries.length > ledgerLimits.metadataKeysMax) {
    fail('metadata-too-large', path, `at most ${ledgerLimits.metadataKeysMax} keys`)
  }
  if (metadataBytes(metadata as Metadata) > ledgerLimits.metadataBytesMax) {
    fail('metadata-too-large', path, `at most ${ledgerLimits.metadataBytesMax} bytes of keys and values`)
  }
}

export function validatePendingTimeout(timeoutMs: unknown, path: string): void {
  const valid =
    typeof timeoutMs === 'number' &&
    timeoutMs % 1 === 0 &&
    timeoutMs >= ledgerLimits.pendingTimeoutMsMin &&
    timeoutMs <= ledgerLimits.pendingTimeoutMsMax
  if (!valid) {
    const range = `${ledgerLimits.pendingTimeoutMsMin}..${ledgerLimits.pendingTimeoutMsMax}`
    fail('pending-timeout-invalid', path, `must be an integer number of milliseconds in ${range}`)
  }
}

function validateAccountPair(debitAccountId: unknown, creditAccountId: unknown, path: string): void {
  if (!isText(debitAccountId) || debitAccountId === '')
    fail('transfer-invalid', `${path}.debitAccountId`, 'required')
  if (!isText(creditAccountId) || creditAccountId === '')
    fail('transfer-invalid', `${path}.creditAccountId`, 'required')
  if (debitAccountId === creditAccountId) fail('same-account', path, 'debit and credit account must differ')
}

/** Everything about one request that needs no database state; throws the AppError of the first problem. */
export function validateTransferRequest(request: TransferRequest, path = 'transfer'): void {
  validateTransferId(request.id, `${path}.id`)
  validateMetadata(request.metadata, `${path}.metadata`)
  switch (request.kind) {
    case 'single':
    case 'pending':
      validateAccountPair(request.debitAccountId, request.creditAccountId, path)
      validateAssetId(request.assetId, `${path}.assetId`)
      validateAmount(request.amount, `${path}.amount`)
      validateCode(request.code, `${path}.code`)
      if (request.kind === 'pending') validatePendingTimeout(request.timeoutMs, `${path}.timeoutMs`)
      return
    case 'post':
    case 'void':
      validateTransferId(request.pendingId, `${path}.pendingId`)
      if (request.code !== undefined) validateCode(request.code, `${path}.code`)
      if (request.kind === 'post' && request.amount !== undefined)
        validateAmount(request.amount, `${path}.amount`)
      return
    default:
      fail('transfer-invalid', `${path}.kind`, 'must be single, pending, post or void')
  }
}

/** A linked batch: 1..linkedTransfersMax valid transfers with distinct ids. */
export function validateTransferBatch(requests: readonly TransferRequest[]): void {
  if (requests.length === 0) fail('transfer-invalid', 'transfers', 'a batch needs at least one transfer')
  if (requests.length > ledgerLimits.linkedTransfersMax) {
    fail(
      'linked-batch-too-large',
      'transfers',
      `at most ${ledgerLimits.linkedTransfersMax} transfers per batch`,
    )
  }
  const ids = new Set<string>()
  requests.forEach((request, index) => {
    validateTransferRequest(request, `transfers[${index}]`)
    if (ids.has(request.id))
      fail('transfer-invalid', `transfers[${index}].id`, 'ids in a batch must be distinct')
    ids.add(request.id)
  })
}

export function validateAccountInput(input: AccountInput): void {
  const flags = input.flags ?? {}
  if (!['merchant', 'customer', 'system'].includes(input.ownerType))
    fail('account-invalid', 'ownerType', 'unknown')
  if (!isText(input.ownerId) || !ownerIdPattern.test(input.ownerId))
    fail('account-invalid', 'ownerId', 'malformed')
  if (!isText(input.purpose) || !purposePattern.test(input.purpose))
    fail('account-invalid', 'purpose', 'kebab-case')
  if (!isText(input.assetId) || !assetIdPattern.test(input.assetId))
    fail('account-invalid', 'assetId', 'malformed')
  if (input.normalSide !== 'debit' && input.normalSide !== 'credit')
    fail('account-invalid', 'normalSide', 'unknown')
  if (flags.debitsMustNotExceedCredits === true && flags.creditsMustNotExceedDebits === true) {
    fail('account-invalid', 'flags', 'the two balance limits exclude each other')
  }
  const limited = flags.debitsMustNotExceedCredits === true || flags.creditsMustNotExceedDebits === true
  if (input.hot === true && limited)
    fail('account-invalid', 'hot', 'a hot account cannot have a balance limit')
}

function canonicalMetadata(metadata: Metadata | undefined): [string, string][] {
  return Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** sha256 of the request's canonical form: a replay must carry the same body to count as one. */
export function requestHash(request: TransferRequest): string {
  const accounts =
    request.kind === 'single' || request.kind === 'pending'
      ? [
          request.debitAccountId,
          request.creditAccountId,
          request.assetId,
          request.amount.toString(),
          request.code,
        ]
      : [
          request.pendingId,
          request.kind === 'post' ? (request.amount?.toString() ?? null) : null,
          request.code ?? null,
        ]
  const timeout = request.kind === 'pending' ? request.timeoutMs : null
  const canonical = [request.kind, request.id, ...accounts, timeout, canonicalMetadata(request.metadata)]
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex')
}

type SystemAccountSpec = Readonly<{ normalSide: NormalSide; flags: AccountFlags; hot: boolean }>

const unlimited: AccountFlags = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false }

/**
 * How each system account is kept. Busy ones are hot (deferred balances), which rules out a balance
 * limit; the chain itself stops a wallet from spending more than it holds, and reconciliation catches
 * drift. The cold wallet moves rarely, so it stays synchronous and cannot go below zero (what it holds
 * beyond what the ledger saw enters as operator capital when it is first moved: treasury.inflow.ts).
 * Operator capital is credit-normal and may grow without bound: it is what the operator put in.
 */
export function systemAccountSpec(kind: SystemAccountKind): SystemAccountSpec {
  switch (kind) {
    case 'hot-wallet':
    case 'network-fee-expense':
      return { normalSide: 'debit', flags: unlimited, hot: true }
    case 'deposit-clearing':
    case 'payout-clearing':
    case 'fee-revenue':
      return { normalSide: 'credit', flags: unlimited, hot: true }
    case 'cold-wallet':
      return { normalSide: 'debit', flags: { ...unlimited, creditsMustNotExceedDebits: true }, hot: false }
    case 'sweep-in-transit':
      return { normalSide: 'debit', flags: unlimited, hot: false }
    case 'suspense':
    case 'operator-capital':
      return { normalSide: 'credit', flags: unlimited, hot: false }
    default:
      return assertNever(kind, 'systemAccountSpec')
  }
}

/**
 * What one transfer does to its two accounts. `released` is the pending amount a post, void or expiry
 * releases (the whole reservation, even for a partial post). Linear in `amount` and `released`, so it
 * also applies to sums of transfers of one kind.
 */
export function legDeltas(
  kind: TransferKind,
  amount: bigint,
  released: bigint,
): { debit: Balances; credit: Balances } {
  let pending = 0n
  let posted = 0n
  switch (kind) {
    case 'single':
      posted = amount
      break
    case 'pending':
      pending = amount
      break
    case 'post':
      pending = -released
      posted = amount
      break
    case 'void':
    case 'expire':
      pending = -released
      break
    default:
      return assertNever(kind, 'legDeltas')
  }
  return {
    debit: { debitsPending: pending, debitsPosted: posted, creditsPending: 0n, creditsPosted: 0n },
    credit: { debitsPending: 0n, debitsPosted: 0n, creditsPending: pending, creditsPosted: posted },
  }
}

export function addBalances(a: Balances, b: Balances): Balances {
  return {
    debitsPending: a.debitsPending + b.debitsPending,
    debitsPosted: a.debitsPosted + b.debitsPosted,
    creditsPending: a.creditsPending + b.creditsPending,
    creditsPosted: a.creditsPosted + b.creditsPosted,
  }
}

export function balancesEqual(a: Balances, b: Balances): boolean {
  return (
    a.debitsPending === b.debitsPending &&
    a.debitsPosted === b.debitsPosted &&
    a.creditsPending === b.creditsPending &&
    a.creditsPosted === b.creditsPosted
  )
}

/** True when the counters break the account's own limit, or any counter is negative. */
export function exceedsBalanceLimits(flags: AccountFlags, balances: Balances): boolean {
  const { debitsPending, debitsPosted, creditsPending, creditsPosted } = balances
  if (debitsPending < 0n || debitsPosted < 0n || creditsPending < 0n || creditsPosted < 0n) return true
  if (flags.debitsMustNotExceedCredits && debitsPending + debitsPosted > creditsPosted) return true
  return flags.creditsMustNotExceedDebits && creditsPending + creditsPosted > debitsPosted
}

export function postedBalance(side: NormalSide, balances: Balances): bigint {
  return side === 'credit'
    ? balances.creditsPosted - balances.debitsPosted
    : balances.debitsPosted - balances.creditsPosted
}

/** Posted balance less outgoing reservations; incoming pending amounts are not available yet. */
export function availableBalance(side: NormalSide, balances: Balances): bigint {
  return side === 'credit'
    ? balances.creditsPosted - balances.debitsPosted - balances.debitsPending
    : balances.debitsPosted - balances.creditsPosted - balances.creditsPending
}

/** A pending transfer's state, from its resolution (the post, void or expiry naming it), if any. */
export function pendingStatus(
  pending: Pick<Transfer, 'timeoutAt'>,
  resolution: TransferKind | undefined,
  now: Date,
): PendingStatus {
  if (resolution === 'post') return 'posted'
  if (resolution === 'void') return 'voided'
  if (resolution === 'expire') return 'expired'
  return pending.timeoutAt !== null && pending.timeoutAt.getTime() <= now.getTime() ? 'expired' : 'pending'
}

/**
 * Whether a post or void of `pending` may happen at `at`: the same rules ledger_transfers_resolve
 * applies in the database. Returns the error code, or undefined when allowed.
 */
export function pendingResolutionError(
  request: Readonly<{ kind: 'post' | 'void'; amount?: bigint }>,
  pending: Pick<Transfer, 'kind' | 'amount' | 'timeoutAt'> | undefined,
  resolution: TransferKind | undefined,
  at: Date,
): LedgerErrorCode | undefined {
  if (pending === undefined || pending.kind !== 'pending') return 'pending-transfer-not-found'
  const status = pendingStatus(pending, resolution, at)
  if (status === 'posted') return 'pending-transfer-already-posted'
  if (status === 'voided') return 'pending-transfer-already-voided'
  if (status === 'expired') return 'pending-transfer-expired'
  if (request.kind === 'post' && request.amount !== undefined && request.amount > pending.amount) {
    return 'post-amount-exceeds-pending'
  }
  return undefined
}

/**
 * Balances that the transfers imply, replayed in seq order (TigerBeetle's state machine without the
 * checks). A post, void or expiry needs its pending transfer among `transfers`.
 */
export function replayTransfers(transfers: readonly Transfer[]): Map<string, Balances> {
  const pendingAmounts = new Map<string, bigint>()
  const balances = new Map<string, Balances>()
  const sorted = [...transfers].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0))
  for (const transfer of sorted) {
    if (transfer.kind === 'pending') pendingAmounts.set(transfer.id, transfer.amount)
    const released = transfer.pendingId === null ? 0n : pendingAmounts.get(transfer.pendingId)
    assert(released !== undefined, `replayTransfers: ${transfer.id} resolves a pending transfer not given`)
    const { debit, credit } = legDeltas(transfer.kind, transfer.amount, released)
    balances.set(
      transfer.debitAccountId,
      addBalances(balances.get(transfer.debitAccountId) ?? zeroBalances, debit),
    )
    balances.set(
      transfer.creditAccountId,
      addBalances(balances.get(transfer.creditAccountId) ?? zeroBalances, credit),
    )
  }
  return balances
}
