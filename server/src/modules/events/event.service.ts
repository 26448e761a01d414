import type { Queryable } from '../../db/pool.ts'
import type { SqlPart } from '../../db/statement.ts'
import { wakeWorkers } from '../../db/wake.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { eventLimits } from './event.limits.ts'
import {
  type BulkDispatch,
  eventsFromSourceCtes,
  findEvent,
  findEvents,
  insertDispatchJobs,
  insertEvent,
  insertEvents,
  selectEventsAfter,
  selectLastEventSequence,
} from './event.repo.ts'
import {
  type EventPayload,
  eventTypes,
  type JsonValue,
  type NewEvent,
  type StoredEvent,
  type StreamMessage,
  testEventType,
  type WebhookEnvelope,
} from './event.types.ts'

/** Job kind that fans an event out to webhook endpoints and publishes it to JetStream. */
export const dispatchEventJobKind = 'dispatch-event'

/** Events recorded many at once share dispatch jobs (docs/adr/0010, "Events recorded many at once"). */
const bulkDispatch: BulkDispatch = {
  jobKind: dispatchEventJobKind,
  attemptsMax: eventLimits.dispatchAttemptsMax,
  eventsPerJobMax: eventLimits.eventsPerDispatchJobMax,
}

// Keys that carry money. Their values must be decimal strings: a JSON number loses precision past 2^53
// (18-decimal tokens) and invites float arithmetic in the merchant's code.
const moneyKeyPattern = /amount|fee|balance/i

function checkJsonValue(value: JsonValue, path: string, depth: number): void {
  assert(
    depth <= eventLimits.payloadDepthMax,
    `event payload deeper than ${eventLimits.payloadDepthMax} at ${path}`,
  )
  if (typeof value === 'number') {
    assert(Number.isFinite(value), `event payload ${path} is not a finite number`)
    assert(!moneyKeyPattern.test(path.split('.').pop() ?? ''), `event payload ${path}: amounts are strings`)
    return
  }
  if (value === null || typeof value !== 'object') {
    assert(
      ['string', 'boolean'].includes(typeof value) || value === null,
      `event payload ${path} is not JSON`,
    )
    return
  }
  if (Array.isArray(value)) {
    for (const [index, item] of (value as readonly JsonValue[]).entries())
      checkJsonValue(item, `${path}[${index}]`, depth + 1)
    return
  }
  for (const [key, item] of Object.entries(value))
    checkJsonValue(item as JsonValue, `${path}.${key}`, depth + 1)
}

/**
 * Serialises a payload, asserting the rules every producer must follow (JSON only, amounts as strings,
 * bounded size). A violation is a bug in the producer, so it fails loudly rather than being delivered.
 */
export function serializeEventPayload(payload: EventPayload): string {
  checkJsonValue(payload, 'payload', 0)
  const json = JSON.stringify(payload)
  assert(
    Buffer.byteLength(json) <= eventLimits.payloadBytesMax,
    `event payload is ${Buffer.byteLength(json)} bytes; at most ${eventLimits.payloadBytesMax}`,
  )
  return json
}

/**
 * Records an event in the caller's transaction, together with one `dispatch-event` job (dedupe key = the
 * event id) that delivers it after commit. Pass the transaction's client: if the transaction rolls back,
 * neither the event nor its job exists, so nothing is ever delivered for a change that did not happen.
 */
export async function recordEvent(client: Queryable, input: NewEvent): Promise<StoredEvent> {
  assert((eventTypes as readonly string[]).includes(input.type), `unknown event type ${input.type}`)
  return await insertEvent(
    client,
    {
      id: newId('evt'),
      type: input.type,
      merchantId: input.merchantId,
      subjectId: input.subjectId,
      payload: input.payload,
      payloadJson: serializeEventPayload(input.payload),
    },
    { jobKind: dispatchEventJobKind, attemptsMax: eventLimits.dispatchAttemptsMax },
  )
}

/**
 * Records a `webhook.test` event without a dispatch job: the webhooks module delivers it to the one
 * endpoint that asked, and it never reaches other endpoints or the stream.
 */
export async function recordTestEvent(
  client: Queryable,
  input: Readonly<{ merchantId: string; subjectId: string; payload: EventPayload }>,
): Promise<StoredEvent> {
  return await insertEvent(
    client,
    {
      id: newId('evt'),
      type: testEventType,
      merchantId: input.merchantId,
      subjectId: input.subjectId,
      payload: input.payload,
      payloadJson: serializeEventPayload(input.payload),
    },
    undefined,
  )
}

export async function getEvent(db: Queryable, id: string): Promise<StoredEvent | undefined> {
  return await findEvent(db, id)
}

/** Many events in one read (a dispatcher's batch); ids that do not exist are simply absent. */
export async function getEvents(db: Queryable, ids: readonly string[]): Promise<StoredEvent[]> {
  return await findEvents(db, ids)
}

/** The webhook body. Built from the immutable row, so every retry sends the same bytes. */
export function toWebhookEnvelope(
  event: Pick<StoredEvent, 'id' | 'type' | 'payload' | 'createdAt'>,
): WebhookEnvelope {
  return { id: event.id, type: event.type, created_at: event.createdAt.toISOString(), data: event.payload }
}

export function toStreamMessage(event: StoredEvent): StreamMessage {
  return {
    ...toWebhookEnvelope(event),
    sequence: event.sequence,
    merchant_id: event.merchantId,
    subject_id: event.subjectId,
  }
}

/** Records many events (with their dispatch jobs) in one statement, in the caller's transaction. */
export async function recordEvents(client: Queryable, inputs: readonly NewEvent[]): Promise<void> {
  for (const input of inputs)
    assert((eventTypes as readonly string[]).includes(input.type), `unknown event type ${input.type}`)
  await insertEvents(
    client,
    inputs.map((input) => ({
      id: newId('evt'),
      type: input.type,
      merchantId: input.merchantId,
      subjectId: input.subjectId,
      payloadJson: serializeEventPayload(input.payload),
    })),
    bulkDispatch,
  )
}

/**
 * Events whose rows a CTE of the caller's statement yields (id, type, merchant_id, subject_id, payload),
 * written with their dispatch jobs as further CTEs of that statement (db/statement.ts). For producers
 * that build payloads in SQL from rows they write in the same statement (the deposit watcher: thousands
 * per range). Their types must be known event types; payloads follow serializeEventPayload's rules.
 * Call eventsWritten after the statement.
 */
export function eventsFromSource(source: string, types: readonly string[]): SqlPart {
  for (const type of types)
    assert((eventTypes as readonly string[]).includes(type), `unknown event type ${type}`)
  return eventsFromSourceCtes(source, bulkDispatch)
}

/**
 * Gives each of these (stored) events a dispatch job of its own, as recordEvent does: a job that carried
 * them with others hands over the ones whose publish failed (jobs/dispatch-event.ts). Idempotent per event.
 */
export async function dispatchEventsAlone(db: Queryable, eventIds: readonly string[]): Promise<void> {
  await insertDispatchJobs(db, eventIds, {
    jobKind: dispatchEventJobKind,
    attemptsMax: eventLimits.dispatchAttemptsMax,
  })
}

/** After a statement that wrote eventsFromSource: wakes the dispatchers (after commit, db/wake.ts). */
export async function eventsWritten(db: Queryable): Promise<void> {
  await wakeWorkers(db, dispatchEventJobKind)
}

/**
 * Reads the outbox after a sequence (live streams: the dashboard and checkout SSE). Sequences are taken at
 * insert, not commit, so a reader should look back a little behind its cursor and skip ids it has seen.
 */
export async function listEventsAfter(
  db: Queryable,
  afterSequence: string,
  limit: number,
): Promise<StoredEvent[]> {
  return await selectEventsAfter(db, afterSequence, limit)
}

export async function getLastEventSequence(db: Queryable): Promise<string> {
  return await selectLastEventSequence(db)
}
