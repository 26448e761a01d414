import type { Queryable } from '../../db/pool.ts'
import { refundStatusAt } from './refund.rules.ts'
import type { Refund, StoredRefundStatus } from './refund.types.ts'

type RefundRow = {
  id: string
  merchant_id: string
  invoice_id: string
  asset_id: string
  network: string
  symbol: string
  decimals: number
  amount: string
  from_buyer_credit: string
  from_merchant_balance: string
  buyer_credit_reservation_id: string | null
  merchant_reservation_id: string | null
  reason: string | null
  status: StoredRefundStatus
  destination: string | null
  payout_id: string | null
  payout_error: string | null
  api_key_id: string
  expires_at: Date
  destination_submitted_at: Date | null
  cancelled_at: Date | null
  created_at: Date
}

function toRefund(row: RefundRow, now: Date): Refund {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    invoiceId: row.invoice_id,
    assetId: row.asset_id,
    network: row.network,
    symbol: row.symbol,
    decimals: row.decimals,
    amount: BigInt(row.amount),
    fromBuyerCredit: BigInt(row.from_buyer_credit),
    fromMerchantBalance: BigInt(row.from_merchant_balance),
    buyerCreditReservationId: row.buyer_credit_reservation_id,
    merchantReservationId: row.merchant_reservation_id,
    reason: row.reason,
    storedStatus: row.status,
    status: refundStatusAt(row.status, row.expires_at, now),
    destination: row.destination,
    payoutId: row.payout_id,
    payoutError: row.payout_error,
    apiKeyId: row.api_key_id,
    expiresAt: row.expires_at,
    destinationSubmittedAt: row.destination_submitted_at,
    cancelledAt: row.cancelled_at,
    createdAt: row.created_at,
  }
}

const one = (rows: RefundRow[], now: Date) => (rows[0] === undefined ? undefined : toRefund(rows[0], now))

/** Serialises refunds of one invoice (bounds are checked against the refunds already open). */
export async function lockInvoiceRefunds(db: Queryable, invoiceId: string): Promise<void> {
  await db.query("select pg_advisory_xact_lock(hashtextextended('refunds:' || $1, 0))", [invoiceId])
}

export type RefundInsert = Omit<
  Refund,
  | 'storedStatus'
  | 'status'
  | 'destination'
  | 'destinationSubmittedAt'
  | 'cancelledAt'
  | 'payoutId'
  | 'payoutError'
> & { linkTokenHash: Buffer }

export async function insertRefund(db: Queryable, refund: RefundInsert, now: Date): Promise<Refund> {
  const result = await db.query<RefundRow>(
    `insert into refunds (id, merchant_id, invoice_id, asset_id, network, symbol, decimals, amount,
       from_buyer_credit, from_merchant_balance, buyer_credit_reservation_id, merchant_reservation_id, reason,
       status, link_token_hash, api_key_id, expires_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'awaiting_destination', $14, $15, $16,
       $17, $17)
     returning *`,
    [
      refund.id,
      refund.merchantId,
      refund.invoiceId,
      refund.assetId,
      refund.network,
      refund.symbol,
      refund.decimals,
      refund.amount.toString(),
      refund.fromBuyerCredit.toString(),
      refund.fromMerchantBalance.toString(),
      refund.buyerCreditReservationId,
      refund.merchantReservationId,
      refund.reason,
      refund.linkTokenHash,
      refund.apiKeyId,
      refund.expiresAt,
      refund.createdAt,
    ],
  )
  return toRefund(result.rows[0] as RefundRow, now)
}

export async function selectRefund(
  db: Queryable,
  id: string,
  now: Date,
  options: { forUpdate?: boolean } = {},
): Promise<Refund | undefined> {
  const result = await db.query<RefundRow>(
    `select * from refunds where id = $1${options.forUpdate === true ? ' for update' : ''}`,
    [id],
  )
  return one(result.rows, now)
}

export async function selectRefundByTokenHash(
  db: Queryable,
  hash: Buffer,
  now: Date,
): Promise<Refund | undefined> {
  const result = await db.query<RefundRow>('select * from refunds where link_token_hash = $1', [hash])
  return one(result.rows, now)
}

/** Refunds of an invoice, newest first (at most refundsPerInvoiceMax exist); `forUpdate` locks them all. */
export async function selectInvoiceRefunds(
  db: Queryable,
  invoiceId: string,
  now: Date,
  limit: number,
  options: { forUpdate?: boolean } = {},
): Promise<Refund[]> {
  const result = await db.query<RefundRow>(
    `select * from refunds where invoice_id = $1 order by id desc limit $2${options.forUpdate === true ? ' for update' : ''}`,
    [invoiceId, limit],
  )
  return result.rows.map((row) => toRefund(row, now))
}

/** Uses the link once: only a refund still awaiting its destination, before expiry, takes one. */
export async function setDestination(
  db: Queryable,
  hash: Buffer,
  destination: string,
  now: Date,
): Promise<Refund | undefined> {
  const result = await db.query<RefundRow>(
    `update refunds set destination = $2, status = 'awaiting_payout', destination_submitted_at = $3,
       updated_at = $3
     where link_token_hash = $1 and status = 'awaiting_destination' and destination is null and expires_at > $3
     returning *`,
    [hash, destination, now],
  )
  return one(result.rows, now)
}

export async function setCancelled(db: Queryable, id: string, now: Date): Promise<Refund> {
  const result = await db.query<RefundRow>(
    `update refunds set status = 'cancelled', cancelled_at = $2, updated_at = $2 where id = $1 returning *`,
    [id, now],
  )
  return toRefund(result.rows[0] as RefundRow, now)
}

/** A new link for a refund still awaiting its destination; the old hash stops matching. */
export async function replaceLinkTokenHash(
  db: Queryable,
  input: { merchantId: string; id: string; hash: Buffer; now: Date },
): Promise<Refund | undefined> {
  const result = await db.query<RefundRow>(
    `update refunds set link_token_hash = $3, updated_at = $4
     where merchant_id = $1 and id = $2 and status = 'awaiting_destination' and expires_at > $4
     returning *`,
    [input.merchantId, input.id, input.hash, input.now],
  )
  return one(result.rows, input.now)
}

/** The refund is carried by `payoutId` from now on. */
export async function setPayoutRequested(
  db: Queryable,
  id: string,
  payoutId: string,
  now: Date,
): Promise<Refund> {
  const result = await db.query<RefundRow>(
    `update refunds set status = 'payout_requested', payout_id = $2, payout_error = null, updated_at = $3
     where id = $1 and status = 'awaiting_payout' returning *`,
    [id, payoutId, now],
  )
  const row = result.rows[0]
  if (row === undefined) throw new Error(`refund ${id} was not awaiting its payout`)
  return toRefund(row, now)
}

export async function setPayoutError(db: Queryable, id: string, error: string, now: Date): Promise<void> {
  await db.query(
    "update refunds set payout_error = $2, updated_at = $3 where id = $1 and status = 'awaiting_payout'",
    [id, error.slice(0, 500), now],
  )
}
