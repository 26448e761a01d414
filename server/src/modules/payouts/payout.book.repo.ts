import type { Queryable } from '../../db/pool.ts'

/** SQL for the address book and the store's payout settings (0012 + 0013 migrations). */

export type AddressBookEntry = Readonly<{
  id: string
  merchantId: string
  /** Lower-case as stored; the API shows the EIP-55 form. */
  address: string
  label: string | null
  customerId: string | null
  /** null: every EVM network of the gateway. */
  network: string | null
  whitelisted: boolean
  cooldownUntil: Date | null
  createdBy: string | null
  createdAt: Date
  updatedAt: Date
}>

type EntryRow = {
  id: string
  merchant_id: string
  address: string
  label: string | null
  customer_id: string | null
  network: string | null
  whitelisted: boolean
  cooldown_until: Date | null
  created_by: string | null
  created_at: Date
  updated_at: Date
}

function toEntry(row: EntryRow): AddressBookEntry {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    address: row.address,
    label: row.label,
    customerId: row.customer_id,
    network: row.network,
    whitelisted: row.whitelisted,
    cooldownUntil: row.cooldown_until,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export async function selectEntryByAddress(
  db: Queryable,
  merchantId: string,
  address: string,
  lock = false,
): Promise<AddressBookEntry | undefined> {
  const result = await db.query<EntryRow>(
    `select * from payout_address_book where merchant_id = $1 and address = $2${lock ? ' for update' : ''}`,
    [merchantId, address.toLowerCase()],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toEntry(row)
}

export async function selectEntry(
  db: Queryable,
  merchantId: string,
  id: string,
  lock = false,
): Promise<AddressBookEntry | undefined> {
  const result = await db.query<EntryRow>(
    `select * from payout_address_book where merchant_id = $1 and id = $2${lock ? ' for update' : ''}`,
    [merchantId, id],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toEntry(row)
}

export async function selectEntries(
  db: Queryable,
  filter: Readonly<{ merchantId: string; customerId?: string; startingAfter?: string }>,
  limit: number,
): Promise<AddressBookEntry[]> {
  const result = await db.query<EntryRow>(
    `select * from payout_address_book
     where merchant_id = $1 and ($2::text is null or customer_id = $2) and ($3::text is null or id > $3)
     order by id limit $4`,
    [filter.merchantId, filter.customerId ?? null, filter.startingAfter ?? null, limit],
  )
  return result.rows.map(toEntry)
}

export async function insertEntry(
  db: Queryable,
  input: Readonly<{
    id: string
    merchantId: string
    address: string
    label: string | null
    customerId: string | null
    network: string | null
    whitelisted: boolean
    cooldownUntil: Date | null
    createdBy: string
  }>,
): Promise<AddressBookEntry> {
  const result = await db.query<EntryRow>(
    `insert into payout_address_book (id, merchant_id, address, label, customer_id, network, whitelisted,
       cooldown_until, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *`,
    [
      input.id,
      input.merchantId,
      input.address.toLowerCase(),
      input.label,
      input.customerId,
      input.network,
      input.whitelisted,
      input.cooldownUntil,
      input.createdBy,
    ],
  )
  const row = result.rows[0]
  if (row === undefined) throw new Error('insert returns the entry')
  return toEntry(row)
}

export async function updateEntry(
  db: Queryable,
  id: string,
  change: Readonly<{ label?: string | null; whitelisted?: boolean; customerId?: string | null }>,
): Promise<AddressBookEntry> {
  const result = await db.query<EntryRow>(
    `update payout_address_book set
       label = case when $2 then $3 else label end,
       whitelisted = coalesce($4, whitelisted),
       customer_id = case when $5 then $6 else customer_id end,
       updated_at = now()
     where id = $1 returning *`,
    [
      id,
      'label' in change,
      change.label ?? null,
      change.whitelisted ?? null,
      'customerId' in change,
      change.customerId ?? null,
    ],
  )
  const row = result.rows[0]
  if (row === undefined) throw new Error(`address book entry ${id} vanished`)
  return toEntry(row)
}

export async function deleteEntry(db: Queryable, id: string): Promise<void> {
  await db.query('delete from payout_address_book where id = $1', [id])
}

export async function customerBelongsTo(
  db: Queryable,
  merchantId: string,
  customerId: string,
): Promise<boolean> {
  const result = await db.query('select 1 from customers where id = $1 and merchant_id = $2', [
    customerId,
    merchantId,
  ])
  return (result.rowCount ?? 0) > 0
}

export type PayoutSettingsRow = Readonly<{
  whitelistOnly: boolean
  cooldownSeconds: number
  canaryThresholdScaled: bigint | null
  canaryAmountScaled: bigint
  updatedBy: string | null
  updatedAt: Date | null
}>

export async function selectSettings(
  db: Queryable,
  merchantId: string,
): Promise<PayoutSettingsRow | undefined> {
  const result = await db.query<{
    whitelist_only: boolean
    cooldown_seconds: number
    canary_threshold_scaled: string | null
    canary_amount_scaled: string
    updated_by: string
    updated_at: Date
  }>('select * from payout_settings where merchant_id = $1', [merchantId])
  const row = result.rows[0]
  if (row === undefined) return undefined
  return {
    whitelistOnly: row.whitelist_only,
    cooldownSeconds: row.cooldown_seconds,
    canaryThresholdScaled: row.canary_threshold_scaled === null ? null : BigInt(row.canary_threshold_scaled),
    canaryAmountScaled: BigInt(row.canary_amount_scaled),
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  }
}

export async function upsertSettings(
  db: Queryable,
  merchantId: string,
  settings: Omit<PayoutSettingsRow, 'updatedAt' | 'updatedBy'> & { updatedBy: string },
): Promise<void> {
  await db.query(
    `insert into payout_settings (merchant_id, whitelist_only, cooldown_seconds, canary_threshold_scaled,
       canary_amount_scaled, updated_by)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (merchant_id) do update set whitelist_only = excluded.whitelist_only,
       cooldown_seconds = excluded.cooldown_seconds, canary_threshold_scaled = excluded.canary_threshold_scaled,
       canary_amount_scaled = excluded.canary_amount_scaled, updated_by = excluded.updated_by, updated_at = now()`,
    [
      merchantId,
      settings.whitelistOnly,
      settings.cooldownSeconds,
      settings.canaryThresholdScaled?.toString() ?? null,
      settings.canaryAmountScaled.toString(),
      settings.updatedBy,
    ],
  )
}

/** Whether the store ever finalized a payout to this address (a canary is only for never-paid ones). */
export async function hasFinalizedPayoutTo(
  db: Queryable,
  merchantId: string,
  address: string,
): Promise<boolean> {
  const result = await db.query(
    `select 1 from payouts where merchant_id = $1 and lower(destination) = $2 and status = 'finalized' limit 1`,
    [merchantId, address.toLowerCase()],
  )
  return (result.rowCount ?? 0) > 0
}
