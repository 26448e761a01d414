import type { Queryable } from '../../db/pool.ts'
import type { GatedWrite } from '../../db/statement.ts'
import type { InvoiceException, InvoiceStatus } from './invoice.types.ts'

export type InvoiceRow = {
  id: string
  merchant_id: string
  status: InvoiceStatus
  exception: InvoiceException
  currency: string
  amount: string
  due_value: string
  rate: { source: string; locked_at: string; rates: Record<string, string> } | null
  tolerance_basis_points: number
  expires_at: Date
  monitoring_until: Date
  order_id: string | null
  description: string | null
  redirect_url: string | null
  metadata: Record<string, string>
  payment_link_id: string | null
  revision: number
  created_at: Date
  updated_at: Date
}

export type OptionRow = {
  invoice_id: string
  network: string
  asset_id: string
  address: string
  amount_due: string
}

export type InvoiceInsert = Omit<InvoiceRow, 'status' | 'exception' | 'revision' | 'updated_at'>

/** $1…$19 of both invoice inserts below: the row's columns, the options as arrays, the creation time. */
function invoiceInsertValues(row: InvoiceInsert, options: readonly OptionRow[]): unknown[] {
  return [
    row.id,
    row.merchant_id,
    row.currency,
    row.amount,
    row.due_value,
    row.rate === null ? null : JSON.stringify(row.rate),
    row.tolerance_basis_points,
    row.expires_at,
    row.monitoring_until,
    row.order_id,
    row.description,
    row.redirect_url,
    JSON.stringify(row.metadata),
    row.payment_link_id,
    options.map((option) => option.network),
    options.map((option) => option.asset_id),
    options.map((option) => option.address),
    options.map((option) => option.amount_due),
    row.created_at,
  ]
}

/**
 * The invoice and its payment options in one statement (one round trip on the hot path of
 * POST /v1/invoices); returns the stored row with the database's defaults filled in.
 */
export async function insertInvoiceWithOptions(
  db: Queryable,
  row: InvoiceInsert,
  options: readonly OptionRow[],
): Promise<InvoiceRow> {
  const result = await db.query<InvoiceRow>({
    name: 'invoice-insert-with-options',
    text: `with invoice as (
       insert into invoices (id, merchant_id, status, exception, currency, amount, due_value, rate,
         tolerance_basis_points, expires_at, monitoring_until, order_id, description, redirect_url, metadata,
         payment_link_id, created_at, updated_at)
       values ($1, $2, 'new', 'none', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $19, $19)
       returning *),
     options as (
       insert into invoice_payment_options (invoice_id, network, asset_id, address, amount_due)
       select $1, * from unnest($15::text[], $16::text[], $17::text[], $18::numeric[]))
     select * from invoice`,
    values: invoiceInsertValues(row, options),
  })
  const stored = result.rows[0]
  if (stored === undefined) throw new Error('invoice insert returned no row')
  return stored
}

/** A new invoice and its payment options: one row of invoicesWithOptionsWrite. */
export type InvoiceWithOptions = Readonly<{ row: InvoiceInsert; options: readonly OptionRow[] }>

/**
 * New invoices and their options as a batched gated write (db/statement.ts `BatchWrite`): invoice i is
 * inserted when `gate` lists ordinal i + 1, its options when it was; done is `invoice_done` (the
 * ordinals written). Types are cast: INSERT … SELECT infers none.
 */
export function invoicesWithOptionsWrite(gate: string, invoices: readonly InvoiceWithOptions[]): GatedWrite {
  const rows = invoices.map((invoice) => invoice.row)
  const options = invoices.flatMap((invoice) => invoice.options)
  const column = <Value>(pick: (row: InvoiceInsert) => Value) => rows.map(pick)
  return {
    ctes: [
      {
        text: `invoice as (
           insert into invoices (id, merchant_id, status, exception, currency, amount, due_value, rate,
             tolerance_basis_points, expires_at, monitoring_until, order_id, description, redirect_url,
             metadata, payment_link_id, created_at, updated_at)
           select id, merchant_id, 'new', 'none', currency, amount, due_value, rate, tolerance_basis_points,
             expires_at, monitoring_until, order_id, description, redirect_url, metadata, payment_link_id,
             created_at, created_at
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::jsonb[], $7::int[],
               $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::jsonb[],
               $14::text[], $15::timestamptz[]) with ordinality
             as row (id, merchant_id, currency, amount, due_value, rate, tolerance_basis_points, expires_at,
               monitoring_until, order_id, description, redirect_url, metadata, payment_link_id, created_at,
               ordinal)
           where ordinal in (select ordinal from ${gate})
           returning id),
         invoice_options as (
           insert into invoice_payment_options (invoice_id, network, asset_id, address, amount_due)
           select * from unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::numeric[])
             as option (invoice_id, network, asset_id, address, amount_due)
           where invoice_id in (select id from invoice)),
         invoice_done as (
           select ordinal from unnest($1::text[]) with ordinality as row (id, ordinal)
           where ordinal in (select ordinal from ${gate}) and id in (select id from invoice))`,
        values: [
          column((row) => row.id),
          column((row) => row.merchant_id),
          column((row) => row.currency),
          column((row) => row.amount),
          column((row) => row.due_value),
          column((row) => (row.rate === null ? null : JSON.stringify(row.rate))),
          column((row) => row.tolerance_basis_points),
          column((row) => row.expires_at),
          column((row) => row.monitoring_until),
          column((row) => row.order_id),
          column((row) => row.description),
          column((row) => row.redirect_url),
          column((row) => JSON.stringify(row.metadata)),
          column((row) => row.payment_link_id),
          column((row) => row.created_at),
          options.map((option) => option.invoice_id),
          options.map((option) => option.network),
          options.map((option) => option.asset_id),
          options.map((option) => option.address),
          options.map((option) => option.amount_due),
        ],
      },
    ],
    done: 'invoice_done',
  }
}

export async function selectInvoice(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<InvoiceRow | undefined> {
  const result = await db.query<InvoiceRow>(
    `select * from invoices where id = $1${options.forUpdate === true ? ' for update' : ''}`,
    [id],
  )
  return result.rows[0]
}

export async function selectOptions(db: Queryable, invoiceId: string): Promise<OptionRow[]> {
  const result = await db.query<OptionRow>(
    // Byte order (collate "C"), as createInvoice orders the options it returns without reading them.
    'select * from invoice_payment_options where invoice_id = $1 order by network collate "C", asset_id collate "C" limit 64',
    [invoiceId],
  )
  return result.rows
}

export async function selectInvoices(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string; status?: InvoiceStatus },
): Promise<InvoiceRow[]> {
  const result = await db.query<InvoiceRow>(
    `select * from invoices where merchant_id = $1 and ($2::text is null or id < $2) and ($3::text is null or status = $3)
     order by id desc limit $4`,
    [merchantId, page.startingAfter ?? null, page.status ?? null, page.limit],
  )
  return result.rows
}

export async function updateInvoiceState(
  db: Queryable,
  id: string,
  state: { status: InvoiceStatus; exception: InvoiceException },
): Promise<number> {
  const result = await db.query<{ revision: number }>(
    `update invoices set status = $2, exception = $3, revision = revision + 1, updated_at = now() where id = $1 returning revision`,
    [id, state.status, state.exception],
  )
  return result.rows[0]?.revision ?? 0
}

export async function insertMark(
  db: Queryable,
  mark: { invoiceId: string; apiKeyId: string; fromStatus: string; toStatus: string; reason: string | null },
): Promise<void> {
  await db.query(
    'insert into invoice_marks (invoice_id, api_key_id, from_status, to_status, reason) values ($1, $2, $3, $4, $5)',
    [mark.invoiceId, mark.apiKeyId, mark.fromStatus, mark.toStatus, mark.reason],
  )
}

/** Open invoices whose expiry or monitoring end has passed: the expiry scan evaluates them. */
export async function selectDueForExpiry(db: Queryable, now: Date, limit: number): Promise<string[]> {
  const result = await db.query<{ id: string }>(
    `select id from invoices where status in ('new', 'processing')
       and (expires_at <= $1 and (status = 'new' or monitoring_until <= $1))
     order by expires_at limit $2`,
    [now, limit],
  )
  return result.rows.map((row) => row.id)
}
