import type { Queryable } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import {
  createTransfer,
  createTransfers,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../ledger/ledger.service.ts'
import type { SingleTransferRequest, TransferRequest } from '../ledger/ledger.types.ts'
import { payoutExceedsBalance } from './payout.errors.ts'
import type { Payout } from './payout.types.ts'

/**
 * Ledger postings of a payout. Ids derive from the payout id, so a replay is a no-op, and each posting
 * commits with the status change that causes it:
 * - request: pending merchant available → payout-clearing (the reservation);
 * - finalized: post it; payout-clearing → hot-wallet (the tokens left); gas → network-fee-expense;
 * - failed / cancelled / blocked: void it (gas, if a transaction was mined, is still booked).
 */

/** 30 days, the ledger's longest pending timeout (ledger.limits.ts pendingTimeoutMsMax). */
export const reservationTimeoutMs = 2_592_000_000

export function nativeAssetId(network: string): string {
  return `ETH@${network}`
}

export async function reservePayout(
  db: Queryable,
  input: Readonly<{
    reservationId: string
    payoutId: string
    merchantId: string
    assetId: string
    amount: bigint
  }>,
): Promise<void> {
  const available = await getOrCreateAccount(db, {
    ownerType: 'merchant',
    ownerId: input.merchantId,
    purpose: 'available',
    assetId: input.assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  const clearing = await getOrCreateSystemAccount(db, 'payout-clearing', input.assetId)
  try {
    await createTransfer(db, {
      kind: 'pending',
      id: input.reservationId,
      debitAccountId: available.id,
      creditAccountId: clearing.id,
      assetId: input.assetId,
      amount: input.amount,
      code: 'payout-reserve',
      timeoutMs: reservationTimeoutMs,
      metadata: { payout_id: input.payoutId },
    })
  } catch (error) {
    if (isAppError(error) && error.code === 'insufficient-funds') throw payoutExceedsBalance()
    throw error
  }
}

export async function voidReservation(db: Queryable, payout: Payout, reason: string): Promise<void> {
  await createTransfer(db, {
    kind: 'void',
    id: `payout-void:${payout.id}`,
    pendingId: payout.reservationId,
    code: 'payout-void',
    metadata: { payout_id: payout.id, reason: reason.slice(0, 200) },
  })
}

/** Gas burned by the payout's mined transaction: debit network-fee-expense / credit hot-wallet (native). */
async function feeTransfer(
  db: Queryable,
  payout: Payout,
  fee: bigint,
  hash: string,
): Promise<SingleTransferRequest[]> {
  if (fee === 0n) return []
  const native = nativeAssetId(payout.network)
  return [
    {
      kind: 'single',
      id: `payout-fee:${payout.id}`,
      debitAccountId: (await getOrCreateSystemAccount(db, 'network-fee-expense', native)).id,
      creditAccountId: (await getOrCreateSystemAccount(db, 'hot-wallet', native)).id,
      assetId: native,
      amount: fee,
      code: 'network-fee',
      metadata: { payout_id: payout.id, tx_hash: hash },
    },
  ]
}

export async function bookPayoutFinal(
  db: Queryable,
  payout: Payout,
  hash: string,
  fee: bigint,
): Promise<void> {
  const transfers: TransferRequest[] = [
    { kind: 'post', id: `payout-post:${payout.id}`, pendingId: payout.reservationId, code: 'payout-post' },
    {
      kind: 'single',
      id: `payout-send:${payout.id}`,
      debitAccountId: (await getOrCreateSystemAccount(db, 'payout-clearing', payout.assetId)).id,
      creditAccountId: (await getOrCreateSystemAccount(db, 'hot-wallet', payout.assetId)).id,
      assetId: payout.assetId,
      amount: payout.amount,
      code: 'payout-send',
      metadata: { payout_id: payout.id, tx_hash: hash },
    },
    ...(await feeTransfer(db, payout, fee, hash)),
  ]
  await createTransfers(db, transfers)
}

export async function bookPayoutFailed(
  db: Queryable,
  payout: Payout,
  reason: string,
  mined: Readonly<{ hash: string; fee: bigint }> | undefined,
): Promise<void> {
  await voidReservation(db, payout, reason)
  if (mined === undefined) return
  const fees = await feeTransfer(db, payout, mined.fee, mined.hash)
  if (fees.length > 0) await createTransfers(db, fees)
}

/**
 * Gas of a batch split over its items: `fee / n` each, the remainder (< n wei) on the first item, so the
 * shares add up to the receipt's fee exactly.
 */
export function splitBatchFee(fee: bigint, itemCount: number): bigint[] {
  const count = BigInt(itemCount)
  if (count === 0n) return []
  const share = fee / count
  const shares = Array.from({ length: itemCount }, () => share)
  shares[0] = share + (fee - share * count)
  return shares
}

/** Gas of the hot wallet's one-time `approve` of the BatchTransfer contract: network-fee-expense / hot-wallet. */
export async function bookBatchApprovalFee(
  db: Queryable,
  input: Readonly<{ batchId: string; network: string; fee: bigint; hash: string }>,
): Promise<void> {
  if (input.fee === 0n) return
  const native = nativeAssetId(input.network)
  await createTransfer(db, {
    kind: 'single',
    id: `payout-batch-fee:${input.batchId}`,
    debitAccountId: (await getOrCreateSystemAccount(db, 'network-fee-expense', native)).id,
    creditAccountId: (await getOrCreateSystemAccount(db, 'hot-wallet', native)).id,
    assetId: native,
    amount: input.fee,
    code: 'network-fee',
    metadata: { batch_id: input.batchId, tx_hash: input.hash },
  })
}

/** Items per ledger call when a batch settles: 3 transfers each, under the ledger's 128 per linked batch. */
const batchItemsPerLedgerCall = 42

/**
 * `bookPayoutFinal` for every paid item of one batch (one asset): the accounts are looked up once and the
 * postings go to the ledger 42 items (126 transfers) per call. Same ids as for single payouts, so a replay
 * is a no-op.
 */
export async function bookBatchFinal(
  db: Queryable,
  items: readonly Readonly<{ payout: Payout; fee: bigint }>[],
  hash: string,
): Promise<void> {
  const first = items[0]?.payout
  if (first === undefined) return
  const native = nativeAssetId(first.network)
  const clearing = (await getOrCreateSystemAccount(db, 'payout-clearing', first.assetId)).id
  const hot = (await getOrCreateSystemAccount(db, 'hot-wallet', first.assetId)).id
  const feeExpense = (await getOrCreateSystemAccount(db, 'network-fee-expense', native)).id
  const hotNative = (await getOrCreateSystemAccount(db, 'hot-wallet', native)).id
  for (let start = 0; start < items.length; start += batchItemsPerLedgerCall) {
    const transfers: TransferRequest[] = []
    for (const { payout, fee } of items.slice(start, start + batchItemsPerLedgerCall)) {
      transfers.push(
        {
          kind: 'post',
          id: `payout-post:${payout.id}`,
          pendingId: payout.reservationId,
          code: 'payout-post',
        },
        {
          kind: 'single',
          id: `payout-send:${payout.id}`,
          debitAccountId: clearing,
          creditAccountId: hot,
          assetId: payout.assetId,
          amount: payout.amount,
          code: 'payout-send',
          metadata: { payout_id: payout.id, tx_hash: hash },
        },
      )
      if (fee > 0n)
        transfers.push({
          kind: 'single',
          id: `payout-fee:${payout.id}`,
          debitAccountId: feeExpense,
          creditAccountId: hotNative,
          assetId: native,
          amount: fee,
          code: 'network-fee',
          metadata: { payout_id: payout.id, tx_hash: hash },
        })
    }
    await createTransfers(db, transfers)
  }
}
