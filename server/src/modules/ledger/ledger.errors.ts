import { AppError, type ErrorDetail } from '../../lib/errors.ts'

/**
 * The ledger's error codes and their HTTP statuses. Codes are stable: clients branch on them. The same
 * codes are raised by PostgreSQL (SQLSTATE SL001, code as the message), so a rule broken below the
 * TypeScript checks still surfaces with its code.
 */
export const ledgerErrorStatus = {
  'idempotency-key-reused': 409,
  'transfer-invalid': 422,
  'transfer-amount-invalid': 422,
  'asset-mismatch': 422,
  'same-account': 422,
  'metadata-too-large': 422,
  'linked-batch-too-large': 422,
  'pending-timeout-invalid': 422,
  'post-amount-exceeds-pending': 422,
  'account-invalid': 422,
  'page-size-invalid': 422,
  'account-not-found': 404,
  'pending-transfer-not-found': 404,
  'insufficient-funds': 409,
  'pending-transfer-already-posted': 409,
  'pending-transfer-already-voided': 409,
  'pending-transfer-expired': 409,
  'account-attributes-conflict': 409,
} as const satisfies Record<string, number>

export type LedgerErrorCode = keyof typeof ledgerErrorStatus

export function isLedgerErrorCode(text: string): text is LedgerErrorCode {
  return Object.hasOwn(ledgerErrorStatus, text)
}

export function ledgerError(
  code: LedgerErrorCode,
  message: string,
  options: { details?: readonly ErrorDetail[]; cause?: unknown } = {},
): AppError {
  return new AppError(code, ledgerErrorStatus[code], message, options)
}

/** True when `error` is an AppError carrying `code`; tests and callers branch on it. */
export function hasLedgerCode(error: unknown, code: LedgerErrorCode): boolean {
  return error instanceof AppError && error.code === code
}

/** SQLSTATE of the business errors raised by 0002-ledger.sql. */
const ledgerSqlState = 'SL001'

// Backstops that only fire when the triggers were bypassed; they still get the code of the rule.
const constraintCodes: Readonly<Record<string, LedgerErrorCode>> = {
  ledger_transfers_amount_and_sides: 'transfer-invalid',
  ledger_accounts_balances_valid: 'insufficient-funds',
}

type DatabaseError = { code?: unknown; message?: unknown; detail?: unknown; constraint?: unknown }

function asDatabaseError(error: unknown): DatabaseError | undefined {
  return typeof error === 'object' && error !== null ? (error as DatabaseError) : undefined
}

/**
 * Maps an error thrown by a ledger query to its AppError; anything else (connection loss, a bug) is
 * returned unchanged so the caller rethrows it as it is.
 */
export function fromDatabaseError(error: unknown): unknown {
  const database = asDatabaseError(error)
  if (database === undefined) return error
  const message = typeof database.message === 'string' ? database.message : ''
  const detail = typeof database.detail === 'string' ? database.detail : message
  if (database.code === ledgerSqlState && isLedgerErrorCode(message)) {
    return ledgerError(message, detail, { cause: error })
  }
  const constraint = typeof database.constraint === 'string' ? database.constraint : undefined
  const code = constraint === undefined ? undefined : constraintCodes[constraint]
  if (database.code === '23514' && code !== undefined) return ledgerError(code, message, { cause: error })
  // A required column left out by a caller that skipped the TypeScript checks (e.g. no code).
  if (database.code === '23502' && (database as { table?: unknown }).table === 'ledger_transfers') {
    return ledgerError('transfer-invalid', message, { cause: error })
  }
  return error
}
