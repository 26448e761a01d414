import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import type { EventPayload } from '../events/event.types.ts'
import { type DeliveryError, deliveryErrorOfStored } from './webhook.failures.ts'
import type { EndpointRow } from './webhook.repo.ts'
import type { DeliveryAttempt, DeliveryStatus, WebhookDelivery } from './webhook.types.ts'

type DeliveryRow = {
  id: string
  endpoint_id: string
  event_id: string
  merchant_id: string
  event_type: string
  status: DeliveryStatus
  series: number
  attempts: number
  next_attempt_at: Date | null
  last_attempt_at: Date | null
  last_status_code: number | null
  last_error: string | null
  delivered_at: Date | null
  created_at: Date
}

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.merchant_id, d.event_type, d.status, d.series, d.attempts,
  d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at`

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    series: row.series,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastStatusCode: row.last_status_code,
    // Rows written before the classes held raw codes (`ECONNREFUSED`, `dns: …`): shown as their class.
    lastError: deliveryErrorOfStored(row.last_error),
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  }
}

/** Inserts one delivery per endpoint; rows that already exist (a re-run fan-out) are skipped, not returned. */
export async function insertDeliveries(
  db: Queryable,
  event: Readonly<{ id: string; type: string; merchantId: string }>,
  deliveries: readonly Readonly<{ id: string; endpointId: string }>[],
  now: Date,
): Promise<WebhookDelivery[]> {
  if (deliveries.length === 0) return []
  const result = await db.query<DeliveryRow>(
    `insert into webhook_deliveries as d (id, endpoint_id, event_id, merchant_id, event_type, next_attempt_at, created_at, updated_at)
     select id, endpoint_id, $3, $4, $5, $6, $6, $6 from unnest($1::text[], $2::text[]) as input (id, endpoint_id)
     on conflict (endpoint_id, event_id) do nothing
     returning ${deliveryColumns}`,
    [
      deliveries.map((delivery) => delivery.id),
      deliveries.map((delivery) => delivery.endpointId),
      event.id,
      event.merchantId,
      event.type,
      now,
    ],
  )
  return result.rows.map(toDelivery)
}

/** The job each new delivery gets in insertDeliveriesWithJobs (mirrors db/job-queue.ts `enqueueJob`). */
export type DeliveryJobSpec = Readonly<{
  kind: string
  attemptsMax: number
  /** null: due now (the caller wakes workers). A date: a fallback for a first attempt made inline. */
  runAt: Date | null
}>

type PlannedDelivery = Readonly<{
  id: string
  endpointId: string
  eventId: string
  merchantId: string
  eventType: string
}>

// The job columns of a delivery's job, from a row `d` of webhook_deliveries: $k kind, $m attempts_max, $r
// run_at (null: now). Dedupe key `kind:delivery:series`, as deliveryJobDedupeKey.
const deliveryJobSelect = (kind: string, attemptsMax: string, runAt: string) =>
  `select ${kind}, jsonb_build_object('deliveryId', d.id, 'series', d.series), coalesce(${runAt}, now()),
     ${attemptsMax}, ${kind} || ':' || d.id || ':' || d.series`

/**
 * A dispatch batch's fan-out in one statement, so one commit: one delivery per (event, endpoint) pair and,
 * with `job`, one job per delivery actually inserted. Pairs that already have a delivery (a re-run) are
 * skipped and returned by nothing (see ensureDeliveryJobs). Either everything commits or nothing does.
 * Without `job` the caller attempts the deliveries itself while the batch's dispatch jobs, which exist
 * until it has recorded or handed on every attempt, stand in for their jobs (docs/adr/0010 §2).
 */
export async function insertDeliveriesWithJobs(
  db: Queryable,
  planned: readonly PlannedDelivery[],
  job: DeliveryJobSpec | undefined,
  now: Date,
): Promise<WebhookDelivery[]> {
  if (planned.length === 0) return []
  const inserted = `insert into webhook_deliveries as d
       (id, endpoint_id, event_id, merchant_id, event_type, next_attempt_at, created_at, updated_at)
     select id, endpoint_id, event_id, merchant_id, event_type, $6, $6, $6
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       as input (id, endpoint_id, event_id, merchant_id, event_type)
     on conflict (endpoint_id, event_id) do nothing
     returning ${deliveryColumns}`
  const columns = [
    planned.map((delivery) => delivery.id),
    planned.map((delivery) => delivery.endpointId),
    planned.map((delivery) => delivery.eventId),
    planned.map((delivery) => delivery.merchantId),
    planned.map((delivery) => delivery.eventType),
    now,
  ]
  const result =
    job === undefined
      ? await db.query<DeliveryRow>({ name: 'webhook-insert-deliveries', text: inserted, values: columns })
      : await db.query<DeliveryRow>({
          name: 'webhook-insert-deliveries-with-jobs',
          text: `with inserted as (${inserted}), queued as (
             insert into jobs (kind, payload, run_at, attempts_max, dedupe_key)
             ${deliveryJobSelect('$7', '$9', '$8::timestamptz')} from inserted d
             on conflict (dedupe_key) do nothing
           )
           select * from inserted`,
          values: [...columns, job.kind, job.runAt, job.attemptsMax],
        })
  return result.rows.map(toDelivery)
}

/**
 * Gives every still-pending delivery of these (event, endpoint) pairs a job, due at `job.runAt`, unless
 * it has one (its dedupe key is taken: a retry, a fallback). Used where an inline first attempt is handed
 * on: a re-run dispatch batch that finds its deliveries made, and a batch that returns before all of its
 * attempts are recorded. Returns how many jobs it created.
 */
export async function ensureDeliveryJobs(
  db: Queryable,
  pairs: readonly Readonly<{ eventId: string; endpointId: string }>[],
  job: DeliveryJobSpec,
): Promise<number> {
  if (pairs.length === 0) return 0
  const result = await db.query({
    name: 'webhook-ensure-delivery-jobs',
    text: `insert into jobs (kind, payload, run_at, attempts_max, dedupe_key)
     ${deliveryJobSelect('$3', '$5', '$4::timestamptz')}
     from unnest($1::text[], $2::text[]) as pair (event_id, endpoint_id)
     join webhook_deliveries d on d.event_id = pair.event_id and d.endpoint_id = pair.endpoint_id
     where d.status = 'pending'
     on conflict (dedupe_key) do nothing`,
    values: [
      pairs.map((pair) => pair.eventId),
      pairs.map((pair) => pair.endpointId),
      job.kind,
      job.runAt,
      job.attemptsMax,
    ],
  })
  return result.rowCount ?? 0
}

/** Everything one attempt needs, read fresh by the job (never carried in the job payload). */
export type DeliveryWork = Readonly<{
  delivery: WebhookDelivery
  endpoint: EndpointRow
  event: Readonly<{ id: string; type: string; payload: EventPayload; createdAt: Date }>
}>

export async function findDeliveryWork(db: Queryable, deliveryId: string): Promise<DeliveryWork | undefined> {
  const deliveries = await db.query<DeliveryRow & { event_payload: EventPayload; event_created_at: Date }>(
    `select ${deliveryColumns}, v.payload as event_payload, v.created_at as event_created_at
     from webhook_deliveries d join events v on v.id = d.event_id where d.id = $1`,
    [deliveryId],
  )
  const row = deliveries.rows[0]
  if (row === undefined) return undefined
  const endpoints = await db.query<EndpointRow>('select * from webhook_endpoints where id = $1', [
    row.endpoint_id,
  ])
  const endpoint = endpoints.rows[0]
  // The delivery's foreign key cascades on endpoint delete; a concurrent delete makes the work vanish.
  if (endpoint === undefined) return undefined
  return {
    delivery: toDelivery(row),
    endpoint,
    event: {
      id: row.event_id,
      type: row.event_type,
      payload: row.event_payload,
      createdAt: row.event_created_at,
    },
  }
}

export async function insertAttempt(db: Queryable, attempt: Omit<DeliveryAttempt, 'id'>): Promise<void> {
  await db.query(
    `insert into webhook_delivery_attempts
       (delivery_id, series, attempt, started_at, duration_ms, status_code, error, response_excerpt)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      attempt.deliveryId,
      attempt.series,
      attempt.attempt,
      attempt.startedAt,
      attempt.durationMs,
      attempt.statusCode,
      attempt.error,
      attempt.responseExcerpt,
    ],
  )
}

export type DeliveryUpdate = Readonly<{
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: Date | null
  lastAttemptAt: Date | null
  lastStatusCode: number | null
  lastError: DeliveryError | null
  deliveredAt: Date | null
}>

/**
 * Applies an attempt's result only if the delivery is still where the attempt found it (same series,
 * same attempt count, pending): a second worker that raced us (lease expiry) cannot double-count.
 */
export async function updatePendingDelivery(
  db: Queryable,
  expected: Readonly<{ id: string; series: number; attempts: number }>,
  update: DeliveryUpdate,
  now: Date,
): Promise<boolean> {
  const result = await db.query(
    `update webhook_deliveries set status = $4, attempts = $5, next_attempt_at = $6, last_attempt_at = $7,
       last_status_code = $8, last_error = $9, delivered_at = $10, updated_at = $11
     where id = $1 and series = $2 and attempts = $3 and status = 'pending'`,
    [
      expected.id,
      expected.series,
      expected.attempts,
      update.status,
      update.attempts,
      update.nextAttemptAt,
      update.lastAttemptAt,
      update.lastStatusCode,
      update.lastError,
      update.deliveredAt,
      now,
    ],
  )
  return result.rowCount === 1
}

/**
 * A delivered attempt in one statement (the common case, so one round trip): the attempt row, the
 * delivery updated only if it is still at `expected` (false otherwise: another worker recorded it), and
 * the endpoint's failing window closed.
 */
export async function recordDeliveredAttempt(
  db: Queryable,
  attempt: Omit<DeliveryAttempt, 'id'>,
  expected: Readonly<{ id: string; series: number; attempts: number; endpointId: string }>,
  now: Date,
): Promise<boolean> {
  const result = await db.query<{ applied: number }>({
    name: 'webhook-record-delivered',
    text: `with attempt as (
       insert into webhook_delivery_attempts
         (delivery_id, series, attempt, started_at, duration_ms, status_code, error, response_excerpt)
       values ($1, $2, $4, $5, $6, $7, null, $8)),
     updated as (
       update webhook_deliveries set status = 'delivered', attempts = $4, next_attempt_at = null,
         last_attempt_at = $5, last_status_code = $7, last_error = null, delivered_at = $9, updated_at = $9
       where id = $1 and series = $2 and attempts = $3 and status = 'pending'
       returning id),
     healthy as (
       update webhook_endpoints set failing_since = null
       where id = $10 and failing_since is not null and exists (select 1 from updated))
     select count(*)::int as applied from updated`,
    values: [
      expected.id,
      expected.series,
      expected.attempts,
      attempt.attempt,
      attempt.startedAt,
      attempt.durationMs,
      attempt.statusCode,
      attempt.responseExcerpt,
      now,
      expected.endpointId,
    ],
  })
  return result.rows[0]?.applied === 1
}

export type DeliveredAttempt = Readonly<{
  attempt: Omit<DeliveryAttempt, 'id'>
  /** Where the delivery must still be for the result to apply (series, attempts before, pending). */
  expected: Readonly<{ id: string; series: number; attempts: number; endpointId: string }>
  /** The queued job to delete once the delivery is delivered (an inline attempt's fallback). */
  fallbackJobKey: string
}>

/**
 * Many delivered first attempts in one statement (one commit per dispatch batch): every attempt row, each
 * delivery updated only if still at its `expected` state, failing windows closed, and the fallback jobs of
 * the deliveries it applied to deleted. Returns the ids of the deliveries it applied to; the others were
 * recorded by another worker (their attempt rows are still logged: the POSTs did happen).
 */
export async function recordDeliveredAttempts(
  db: Queryable,
  delivered: readonly DeliveredAttempt[],
  now: Date,
): Promise<Set<string>> {
  if (delivered.length === 0) return new Set()
  const column = <T>(pick: (item: DeliveredAttempt) => T) => delivered.map(pick)
  const result = await db.query<{ id: string }>({
    name: 'webhook-record-delivered-batch',
    text: `with input as (
       select * from unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::timestamptz[], $6::int[],
         $7::int[], $8::text[], $9::text[], $10::text[])
         as i (delivery_id, series, attempts_before, attempt, started_at, duration_ms, status_code,
           response_excerpt, endpoint_id, fallback_job_key)
     ), attempt as (
       insert into webhook_delivery_attempts
         (delivery_id, series, attempt, started_at, duration_ms, status_code, error, response_excerpt)
       select delivery_id, series, attempt, started_at, duration_ms, status_code, null, response_excerpt
       from input
     ), updated as (
       update webhook_deliveries d set status = 'delivered', attempts = i.attempt, next_attempt_at = null,
         last_attempt_at = i.started_at, last_status_code = i.status_code, last_error = null,
         delivered_at = $11, updated_at = $11
       from input i
       where d.id = i.delivery_id and d.series = i.series and d.attempts = i.attempts_before
         and d.status = 'pending'
       returning d.id, i.endpoint_id, i.fallback_job_key
     ), healthy as (
       update webhook_endpoints set failing_since = null
       where id in (select endpoint_id from updated) and failing_since is not null
     ), settled as (
       delete from jobs where dedupe_key in (select fallback_job_key from updated) and status = 'queued'
     )
     select id from updated`,
    values: [
      column((item) => item.expected.id),
      column((item) => item.expected.series),
      column((item) => item.expected.attempts),
      column((item) => item.attempt.attempt),
      column((item) => item.attempt.startedAt),
      column((item) => item.attempt.durationMs),
      column((item) => item.attempt.statusCode),
      column((item) => item.attempt.responseExcerpt),
      column((item) => item.expected.endpointId),
      column((item) => item.fallbackJobKey),
      now,
    ],
  })
  return new Set(result.rows.map((row) => row.id))
}

export async function markDeliveryDead(
  db: Queryable,
  expected: Readonly<{ id: string; series: number }>,
  reason: DeliveryError,
  now: Date,
): Promise<void> {
  await db.query(
    `update webhook_deliveries set status = 'dead', next_attempt_at = null, last_error = $3, updated_at = $4
     where id = $1 and series = $2 and status = 'pending'`,
    [expected.id, expected.series, reason, now],
  )
}

export async function findDelivery(
  db: Queryable,
  merchantId: string,
  deliveryId: string,
  lock: 'for update' | '' = '',
): Promise<WebhookDelivery | undefined> {
  const result = await db.query<DeliveryRow>(
    `select ${deliveryColumns} from webhook_deliveries d where d.id = $1 and d.merchant_id = $2 ${lock}`,
    [deliveryId, merchantId],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toDelivery(row)
}

/** Starts a new attempt series: pending again, attempts from zero, webhook-id unchanged (the event id). */
export async function restartDelivery(
  db: Queryable,
  deliveryId: string,
  now: Date,
): Promise<WebhookDelivery> {
  const result = await db.query<DeliveryRow>(
    `update webhook_deliveries as d set status = 'pending', series = series + 1, attempts = 0, next_attempt_at = $2,
       delivered_at = null, updated_at = $2
     where d.id = $1 returning ${deliveryColumns}`,
    [deliveryId, now],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'restarting a delivery found no row')
  return toDelivery(row)
}

export async function selectDeliveries(
  db: Queryable,
  filter: Readonly<{
    merchantId: string
    endpointId?: string
    eventId?: string
    status?: DeliveryStatus
    before?: string
  }>,
  limit: number,
): Promise<WebhookDelivery[]> {
  // Keyset paging on the id (a ULID, so newest first by creation time), never OFFSET.
  const result = await db.query<DeliveryRow>(
    `select ${deliveryColumns} from webhook_deliveries d
     where d.merchant_id = $1 and ($2::text is null or d.endpoint_id = $2) and ($3::text is null or d.event_id = $3)
       and ($4::text is null or d.status = $4) and ($5::text is null or d.id < $5)
     order by d.id desc limit $6`,
    [
      filter.merchantId,
      filter.endpointId ?? null,
      filter.eventId ?? null,
      filter.status ?? null,
      filter.before ?? null,
      limit,
    ],
  )
  return result.rows.map(toDelivery)
}

type AttemptRow = {
  id: string
  delivery_id: string
  series: number
  attempt: number
  started_at: Date
  duration_ms: number
  status_code: number | null
  error: string | null
  response_excerpt: string | null
}

export async function selectAttempts(
  db: Queryable,
  deliveryId: string,
  limit: number,
): Promise<DeliveryAttempt[]> {
  const result = await db.query<AttemptRow>(
    'select * from webhook_delivery_attempts where delivery_id = $1 order by id desc limit $2',
    [deliveryId, limit],
  )
  return result.rows.map((row) => ({
    id: row.id,
    deliveryId: row.delivery_id,
    series: row.series,
    attempt: row.attempt,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    statusCode: row.status_code,
    error: deliveryErrorOfStored(row.error),
    responseExcerpt: row.response_excerpt,
  }))
}
