import type { Pool, PoolClient, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { allocateDepositAddressInTransaction } from './deposit-address.service.ts'
import { selectDepositAddressByOwner, selectPayment, selectPaymentsByOwner } from './payment.repo.ts'
import type { DepositAddress, DepositOwnerKind, Payment, PaymentStatus } from './payment.types.ts'
import {
  evaluateInvoiceJobKind as recordingEvaluateInvoiceJobKind,
  progressPayments as recordingProgressPayments,
  recordObservedTransfers as recordingRecordObservedTransfers,
} from './payment-recording.service.ts'

/**
 * The deposit address of (merchant, owner): a fresh one for an invoice, the same one on every call for
 * a customer. Needs only the xpub (the API process holds no private key). See deposit-address.service.ts.
 */
export async function allocateDepositAddress(pool: Pool, owner: DepositOwner): Promise<DepositAddress> {
  return await withTransaction(pool, async (client) => await allocateDepositAddressWith(client, owner))
}

/** As allocateDepositAddress, inside the caller's transaction (so the owner row and its address commit together). */
export async function allocateDepositAddressWith(
  client: PoolClient,
  owner: DepositOwner,
): Promise<DepositAddress> {
  return await allocateDepositAddressInTransaction(client, owner)
}

type DepositOwner = { merchantId: string; ownerKind: DepositOwnerKind; ownerId: string }

// Recording deposits lives in payment-recording.service.ts (the watcher imports it from there, without
// the key libraries this file's allocation needs). These names stay for the files that import them here.
export const evaluateInvoiceJobKind = recordingEvaluateInvoiceJobKind
export const progressPayments = recordingProgressPayments
export const recordObservedTransfers = recordingRecordObservedTransfers

/** Payments to one owner's address, newest first (bounded page; `beforeDetectedAt` continues a page). */
export async function listOwnerPayments(
  db: Queryable,
  owner: DepositOwner,
  page: { limit: number; beforeDetectedAt?: Date; statuses?: readonly PaymentStatus[] },
): Promise<Payment[]> {
  return await selectPaymentsByOwner(db, owner, page)
}

export async function getOwnerDepositAddress(
  db: Queryable,
  owner: DepositOwner,
): Promise<DepositAddress | undefined> {
  return await selectDepositAddressByOwner(db, owner.merchantId, owner.ownerKind, owner.ownerId)
}

/** Whether `address` (any case) is one of the gateway's deposit addresses, of any store. */
export async function isDepositAddress(db: Queryable, address: string): Promise<boolean> {
  const result = await db.query('select 1 from deposit_addresses where address = $1', [address.toLowerCase()])
  return (result.rowCount ?? 0) > 0
}

export async function getPayment(db: Queryable, id: string): Promise<Payment | undefined> {
  return await selectPayment(db, id)
}
