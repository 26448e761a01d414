import type { Queryable } from '../../db/pool.ts'
import { joinSqlParts, type SqlPart } from '../../db/statement.ts'
import { wakeWorkers } from '../../db/wake.ts'
import { assert } from '../../lib/assert.ts'
import type { EventPayload, StoredEvent } from './event.types.ts'

type EventRow = {
  id: string
  sequence: string
  type: string
  merchant_id: string | null
  subject_id: string | null
  payload: EventPayload
  created_at: Date
}

const eventColumns = 'id, sequence, type, merchant_id, subject_id, payload, created_at'

function toEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    sequence: row.sequence,
    type: row.type,
    merchantId: row.merchant_id,
    subjectId: row.subject_id,
    payload: row.payload,
    createdAt: row.created_at,
  }
}

/**
 * Inserts the event and, when `dispatch` is given, its fan-out job in one statement: the two cannot be
 * separated even if the caller forgot its transaction. The job insert is part of the same
 * statement, so it mirrors db/job-queue.ts `enqueueJob` (same columns, dedupe semantics, NOTIFY channel).
 * Only what the database assigns (sequence, time) comes back: the caller has the rest, and sending the
 * payload back and parsing it again cost every business transaction that records an event.
 */
export async function insertEvent(
  db: Queryable,
  event: Readonly<{
    id: string
    type: string
    merchantId: string | null
    subjectId: string | null
    payload: EventPayload
    payloadJson: string
  }>,
  dispatch: Readonly<{ jobKind: string; attemptsMax: number }> | undefined,
): Promise<StoredEvent> {
  // One round trip for the event and its dispatch job; prepared once per connection, since every event
  // is recorded through here. Workers are woken after the commit (db/wake.ts), never for a rollback.
  const result = await db.query<Pick<EventRow, 'sequence' | 'created_at'>>({
    name: 'event-insert',
    text: `with inserted as (
       insert into events (id, type, merchant_id, subject_id, payload) values ($1, $2, $3, $4, $5::jsonb)
       returning id, sequence, created_at
     ), job as (
       insert into jobs (kind, payload, attempts_max, dedupe_key)
       select $6, jsonb_build_object('eventId', id), $7, id from inserted where $6::text is not null
       on conflict (dedupe_key) do nothing
     )
     select sequence, created_at from inserted`,
    values: [
      event.id,
      event.type,
      event.merchantId,
      event.subjectId,
      event.payloadJson,
      dispatch?.jobKind ?? null,
      dispatch?.attemptsMax ?? 1,
    ],
  })
  const row = result.rows[0]
  assert(row !== undefined, 'insert … returning produced no row')
  if (dispatch !== undefined) await wakeWorkers(db, dispatch.jobKind)
  return {
    id: event.id,
    sequence: row.sequence,
    type: event.type,
    merchantId: event.merchantId,
    subjectId: event.subjectId,
    payload: event.payload,
    createdAt: row.created_at,
  }
}

export async function findEvent(db: Queryable, id: string): Promise<StoredEvent | undefined> {
  const result = await db.query<EventRow>(`select ${eventColumns} from events where id = $1`, [id])
  const row = result.rows[0]
  return row === undefined ? undefined : toEvent(row)
}

/** The events with these ids that exist, in no particular order. */
export async function findEvents(db: Queryable, ids: readonly string[]): Promise<StoredEvent[]> {
  if (ids.length === 0) return []
  const result = await db.query<EventRow>({
    name: 'events-by-ids',
    text: `select ${eventColumns} from events where id = any($1::text[])`,
    values: [ids],
  })
  return result.rows.map(toEvent)
}

/**
 * Inserts many events and their fan-out jobs in one statement (a watcher range can produce thousands);
 * same guarantees as insertEvent.
 */
export async function insertEvents(
  db: Queryable,
  events: readonly Readonly<{
    id: string
    type: string
    merchantId: string | null
    subjectId: string | null
    payloadJson: string
  }>[],
  dispatch: BulkDispatch,
): Promise<void> {
  if (events.length === 0) return
  const source: SqlPart = {
    text: `new_events as (
       select id, type, merchant_id, subject_id, payload::jsonb as payload
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as e(id, type, merchant_id, subject_id, payload)
     )`,
    values: [
      events.map((event) => event.id),
      events.map((event) => event.type),
      events.map((event) => event.merchantId),
      events.map((event) => event.subjectId),
      events.map((event) => event.payloadJson),
    ],
  }
  const statement = joinSqlParts([source, eventsFromSourceCtes('new_events', dispatch)], ',\n')
  await db.query({ text: `with ${statement.text} select 1`, values: statement.values })
  await wakeWorkers(db, dispatch.jobKind)
}

/** One `{eventId}` dispatch job per event (dedupe key: the event id), for events already stored. */
export async function insertDispatchJobs(
  db: Queryable,
  eventIds: readonly string[],
  dispatch: Readonly<{ jobKind: string; attemptsMax: number }>,
): Promise<void> {
  if (eventIds.length === 0) return
  await db.query(
    `insert into jobs (kind, payload, attempts_max, dedupe_key)
     select $1, jsonb_build_object('eventId', id), $2, id from unnest($3::text[]) as e(id)
     on conflict (dedupe_key) do nothing`,
    [dispatch.jobKind, dispatch.attemptsMax, eventIds],
  )
  await wakeWorkers(db, dispatch.jobKind)
}

/** How events written many at once are dispatched: one job per up to `eventsPerJobMax` of them. */
export type BulkDispatch = Readonly<{ jobKind: string; attemptsMax: number; eventsPerJobMax: number }>

/**
 * The write of events whose rows the caller's CTE `source` yields — columns id, type, merchant_id,
 * subject_id, payload (jsonb) — and of their fan-out jobs, as CTEs of the caller's statement
 * (db/statement.ts): for a producer that builds payloads in SQL from rows it writes in that statement.
 * Same guarantees as insertEvents; the caller wakes the workers after its statement.
 */
export function eventsFromSourceCtes(source: string, dispatch: BulkDispatch): SqlPart {
  return {
    text: `events_inserted as (
       insert into events (id, type, merchant_id, subject_id, payload)
       select id, type, merchant_id, subject_id, payload from ${source}
       returning id
     ), events_dispatch as (
       insert into jobs (kind, payload, attempts_max, dedupe_key)
       select $1, jsonb_build_object('eventIds', jsonb_agg(id order by id)), $2, 'events:' || min(id)
       from (select id, (row_number() over (order by id) - 1) / $3 as part from events_inserted) as numbered
       group by part
       on conflict (dedupe_key) do nothing
     )`,
    values: [dispatch.jobKind, dispatch.attemptsMax, dispatch.eventsPerJobMax],
  }
}

/** Events with a sequence above `afterSequence`, in sequence order, at most `limit` (live streams). */
export async function selectEventsAfter(
  db: Queryable,
  afterSequence: string,
  limit: number,
): Promise<StoredEvent[]> {
  const result = await db.query<EventRow>(
    `select ${eventColumns} from events where sequence > $1 order by sequence limit $2`,
    [afterSequence, limit],
  )
  return result.rows.map(toEvent)
}

/** The highest sequence written so far ('0' for an empty outbox). */
export async function selectLastEventSequence(db: Queryable): Promise<string> {
  const result = await db.query<{ last: string | null }>('select max(sequence) as last from events')
  return result.rows[0]?.last ?? '0'
}
