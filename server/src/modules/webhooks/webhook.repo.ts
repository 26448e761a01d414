import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { filterFromColumn } from './webhook.state.ts'
import type { DisabledReason, WebhookEndpoint } from './webhook.types.ts'

/**
 * Delivery ids are prefixed ULIDs like every id, with a `whd_` prefix. lib/ids.ts has no such prefix yet,
 * so the ULID part of a fresh id is reused under our prefix (same time order, same randomness).
 */
export function newDeliveryId(): string {
  return `whd_${newId('whk').slice('whk_'.length)}`
}

export type EndpointRow = {
  id: string
  merchant_id: string
  url: string
  description: string
  event_types: string[]
  allow_insecure: boolean
  allow_local: boolean
  enabled: boolean
  disabled_reason: DisabledReason | null
  disabled_at: Date | null
  secret: string
  previous_secret: string | null
  previous_secret_expires_at: Date | null
  failing_since: Date | null
  created_at: Date
  updated_at: Date
}

/** The public view: never the secrets. */
export function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    url: row.url,
    description: row.description,
    eventFilter: filterFromColumn(row.event_types),
    allowInsecure: row.allow_insecure,
    allowLocal: row.allow_local,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    disabledAt: row.disabled_at,
    failingSince: row.failing_since,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function firstRow<T>(rows: readonly T[]): T {
  const row = rows[0]
  assert(row !== undefined, 'insert/update … returning produced no row')
  return row
}

/** Serialises endpoint creation per store, so the count check cannot be raced past the limit. */
export async function lockMerchantEndpoints(db: Queryable, merchantId: string): Promise<void> {
  await db.query("select pg_advisory_xact_lock(hashtext('webhook_endpoints'), hashtext($1))", [merchantId])
}

export async function countEndpoints(db: Queryable, merchantId: string): Promise<number> {
  const result = await db.query<{ count: number }>(
    'select count(*)::int as count from webhook_endpoints where merchant_id = $1',
    [merchantId],
  )
  return result.rows[0]?.count ?? 0
}

export async function insertEndpoint(
  db: Queryable,
  row: Pick<
    EndpointRow,
    'id' | 'merchant_id' | 'url' | 'description' | 'event_types' | 'allow_insecure' | 'allow_local' | 'secret'
  > & {
    now: Date
  },
): Promise<EndpointRow> {
  const result = await db.query<EndpointRow>(
    `insert into webhook_endpoints
       (id, merchant_id, url, description, event_types, allow_insecure, allow_local, secret, created_at,
        updated_at)
     values ($1, $2, $3, $4, $5, $6, $9, $7, $8, $8) returning *`,
    [
      row.id,
      row.merchant_id,
      row.url,
      row.description,
      row.event_types,
      row.allow_insecure,
      row.secret,
      row.now,
      row.allow_local,
    ],
  )
  return firstRow(result.rows)
}

export async function findEndpoint(
  db: Queryable,
  merchantId: string,
  endpointId: string,
  lock: 'for update' | '' = '',
): Promise<EndpointRow | undefined> {
  const result = await db.query<EndpointRow>(
    `select * from webhook_endpoints where id = $1 and merchant_id = $2 ${lock}`,
    [endpointId, merchantId],
  )
  return result.rows[0]
}

export async function selectEndpoints(
  db: Queryable,
  merchantId: string,
  limit: number,
): Promise<EndpointRow[]> {
  const result = await db.query<EndpointRow>(
    'select * from webhook_endpoints where merchant_id = $1 order by created_at, id limit $2',
    [merchantId, limit],
  )
  return result.rows
}

export type EndpointSettings = Pick<
  EndpointRow,
  | 'url'
  | 'description'
  | 'event_types'
  | 'allow_insecure'
  | 'allow_local'
  | 'enabled'
  | 'disabled_reason'
  | 'disabled_at'
  | 'failing_since'
>

export async function updateEndpointSettings(
  db: Queryable,
  id: string,
  settings: EndpointSettings,
  now: Date,
): Promise<EndpointRow> {
  const result = await db.query<EndpointRow>(
    `update webhook_endpoints set url = $2, description = $3, event_types = $4, allow_insecure = $5,
       enabled = $6, disabled_reason = $7, disabled_at = $8, failing_since = $9, updated_at = $10,
       allow_local = $11
     where id = $1 returning *`,
    [
      id,
      settings.url,
      settings.description,
      settings.event_types,
      settings.allow_insecure,
      settings.enabled,
      settings.disabled_reason,
      settings.disabled_at,
      settings.failing_since,
      now,
      settings.allow_local,
    ],
  )
  return firstRow(result.rows)
}

export async function updateEndpointSecret(
  db: Queryable,
  id: string,
  secrets: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null },
  now: Date,
): Promise<EndpointRow> {
  const result = await db.query<EndpointRow>(
    `update webhook_endpoints set secret = $2, previous_secret = $3, previous_secret_expires_at = $4,
       updated_at = $5
     where id = $1 returning *`,
    [id, secrets.secret, secrets.previousSecret, secrets.previousSecretExpiresAt, now],
  )
  return firstRow(result.rows)
}

export async function deleteEndpointRow(
  db: Queryable,
  merchantId: string,
  endpointId: string,
): Promise<boolean> {
  const result = await db.query('delete from webhook_endpoints where id = $1 and merchant_id = $2', [
    endpointId,
    merchantId,
  ])
  return result.rowCount === 1
}

/**
 * Every enabled endpoint of these stores, for a dispatch batch to match each event against in memory
 * (one read for the batch). At most endpointsPerMerchantMax per store, so the answer is bounded.
 */
export async function selectEnabledEndpointsOf(
  db: Queryable,
  merchantIds: readonly string[],
): Promise<EndpointRow[]> {
  if (merchantIds.length === 0) return []
  const result = await db.query<EndpointRow>({
    name: 'webhook-enabled-endpoints-of',
    text: 'select * from webhook_endpoints where merchant_id = any($1::text[]) and enabled order by id',
    values: [merchantIds],
  })
  return result.rows
}

/** Enabled endpoints of a store whose filter takes `eventType`; bounded by the per-store maximum. */
export async function selectMatchingEndpointIds(
  db: Queryable,
  merchantId: string,
  eventType: string,
  limit: number,
): Promise<string[]> {
  const result = await db.query<{ id: string }>(
    `select id from webhook_endpoints
     where merchant_id = $1 and enabled and ('*' = any(event_types) or $2 = any(event_types))
     order by id limit $3`,
    [merchantId, eventType, limit],
  )
  return result.rows.map((row) => row.id)
}

/** Marks the endpoint failing (keeping the earliest start) and returns since when it has been failing. */
export async function markEndpointFailing(db: Queryable, endpointId: string, now: Date): Promise<Date> {
  const result = await db.query<{ failing_since: Date }>(
    `with updated as (
       update webhook_endpoints set failing_since = $2 where id = $1 and failing_since is null returning failing_since
     )
     select coalesce((select failing_since from updated), (select failing_since from webhook_endpoints where id = $1))
       as failing_since`,
    [endpointId, now],
  )
  return firstRow(result.rows).failing_since
}

/** Disables a failing endpoint; false when it was already disabled (someone else got there first). */
export async function disableFailingEndpoint(db: Queryable, endpointId: string, now: Date): Promise<boolean> {
  const result = await db.query(
    `update webhook_endpoints set enabled = false, disabled_reason = 'failing', disabled_at = $2, updated_at = $2
     where id = $1 and enabled`,
    [endpointId, now],
  )
  return result.rowCount === 1
}
