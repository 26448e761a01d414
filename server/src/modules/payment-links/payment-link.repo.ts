import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import type { PaymentLink } from './payment-link.types.ts'

type PaymentLinkRow = {
  id: string
  merchant_id: string
  currency: string
  amount_decimals: number
  amount: string | null
  amount_min: string | null
  amount_max: string | null
  networks: string[] | null
  description: string | null
  redirect_url: string | null
  one_time: boolean
  invoice_id: string | null
  expires_at: Date | null
  deactivated_at: Date | null
  created_at: Date
}

const toBigint = (text: string | null) => (text === null ? null : BigInt(text))

function toLink(row: PaymentLinkRow): PaymentLink {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    currency: row.currency,
    amountDecimals: row.amount_decimals,
    amount: toBigint(row.amount),
    amountMin: toBigint(row.amount_min),
    amountMax: toBigint(row.amount_max),
    networks: row.networks,
    description: row.description,
    redirectUrl: row.redirect_url,
    oneTime: row.one_time,
    invoiceId: row.invoice_id,
    expiresAt: row.expires_at,
    deactivatedAt: row.deactivated_at,
    createdAt: row.created_at,
  }
}

const text = (value: bigint | null) => (value === null ? null : value.toString())

export async function insertPaymentLink(db: Queryable, link: PaymentLink): Promise<PaymentLink> {
  const result = await db.query<PaymentLinkRow>(
    `insert into payment_links (id, merchant_id, currency, amount_decimals, amount, amount_min, amount_max,
       networks, description, redirect_url, one_time, expires_at, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning *`,
    [
      link.id,
      link.merchantId,
      link.currency,
      link.amountDecimals,
      text(link.amount),
      text(link.amountMin),
      text(link.amountMax),
      link.networks,
      link.description,
      link.redirectUrl,
      link.oneTime,
      link.expiresAt,
      link.createdAt,
    ],
  )
  return toLink(result.rows[0] as PaymentLinkRow)
}

/** By id alone (public pages); `forUpdate` serialises openings of one link (one-time links). */
export async function selectPaymentLink(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<PaymentLink | undefined> {
  const result = await db.query<PaymentLinkRow>(
    `select * from payment_links where id = $1${options.forUpdate === true ? ' for update' : ''}`,
    [id],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toLink(row)
}

export async function selectPaymentLinks(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string | undefined },
): Promise<PaymentLink[]> {
  // Ids are ULIDs: ordering by id is ordering by creation, newest first.
  const result = await db.query<PaymentLinkRow>(
    `select * from payment_links where merchant_id = $1 and ($2::text is null or id < $2)
     order by id desc limit $3`,
    [merchantId, page.startingAfter ?? null, page.limit],
  )
  return result.rows.map(toLink)
}

/** Sets deactivated_at once; a second call keeps the first time. */
export async function deactivateLink(
  db: Queryable,
  merchantId: string,
  id: string,
  now: Date,
): Promise<PaymentLink | undefined> {
  const result = await db.query<PaymentLinkRow>(
    `update payment_links set deactivated_at = coalesce(deactivated_at, $3)
     where merchant_id = $1 and id = $2 returning *`,
    [merchantId, id, now],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toLink(row)
}

/** Records a one-time link's invoice; the caller holds the link's row lock, so it cannot be set yet. */
export async function setLinkInvoice(db: Queryable, id: string, invoiceId: string): Promise<void> {
  const result = await db.query(
    'update payment_links set invoice_id = $2 where id = $1 and invoice_id is null',
    [id, invoiceId],
  )
  assert(result.rowCount === 1, `payment link ${id} already has an invoice`)
}
