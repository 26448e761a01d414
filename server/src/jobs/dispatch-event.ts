import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import type { EventPublisher, NatsStreamOptions } from '../modules/events/event.nats.ts'
import { dispatchEventsAlone, getEvents } from '../modules/events/event.service.ts'
import type { StoredEvent } from '../modules/events/event.types.ts'
import { webhookLimits } from '../modules/webhooks/webhook.limits.ts'
import {
  attemptDeliveriesNow,
  createInlineAttemptGate,
  fanOutEvents,
} from '../modules/webhooks/webhook-dispatch.service.ts'
import { type DeliverWebhookContext, deliveryDepsOf } from './deliver-webhook.ts'
import { batchedJobHandler, type JobHandler, type JobRow } from './runner.ts'

export type DispatchEventContext = Readonly<{
  pool: Pool
  logger: Logger
  /** When set, every event is also published to JetStream (stream SLUICE_EVENTS). */
  natsUrl?: string | undefined
  /** Stream name and subject prefix; tests use their own so runs do not share a stream. */
  natsStream?: NatsStreamOptions
  /**
   * Set: each delivery's first attempt is made here, right after the fan-out commits, and its job is a
   * fallback due later (one job hop and one NOTIFY less per delivery). Unset: the job attempts at once.
   */
  inlineDelivery?: DeliverWebhookContext
}>

/**
 * The events a job dispatches: `{eventId}` (one event recorded alone) or `{eventIds}` (the events one
 * statement recorded, in groups of eventLimits.eventsPerDispatchJobMax: docs/adr/0010, "Events recorded
 * many at once").
 */
function eventIdsOf(payload: Record<string, unknown>): string[] {
  const { eventId, eventIds } = payload
  if (typeof eventId === 'string') return [eventId]
  assert(
    Array.isArray(eventIds) && eventIds.length > 0 && eventIds.every((id) => typeof id === 'string'),
    'dispatch-event job without an eventId or eventIds',
  )
  return eventIds as string[]
}

/**
 * `dispatch-event`, run in batches of up to dispatchBatchSizeMax jobs (docs/adr/0010 §2): one read of the
 * batch's events; per dispatchBatchSizeMax of them, one fan-out statement to their stores' webhook endpoints
 * (idempotent) and their first attempts; beside that, each event published to JetStream with `Nats-Msg-Id` =
 * event id. A publish failure fails that event's job, which retries both steps: the fan-out finds its
 * deliveries already made, and JetStream drops a duplicate. A job carrying many events (docs/adr/0010,
 * "Events recorded many at once") instead hands its failed events to jobs of their own and ends, so its
 * other events are not published again on every retry.
 */
export function createDispatchEventHandler(context: DispatchEventContext): JobHandler {
  let publisher: Promise<EventPublisher> | undefined
  const publisherFor = (signal: AbortSignal): Promise<EventPublisher> | undefined => {
    const natsUrl = context.natsUrl
    if (natsUrl === undefined) return undefined
    // The NATS client (~13 MiB) is loaded only where a stream is configured (idle RSS budget, issue 2).
    publisher ??= import('../modules/events/event.nats.ts').then(({ createNatsEventPublisher }) => {
      const created = createNatsEventPublisher({
        natsUrl,
        logger: context.logger,
        ...(context.natsStream === undefined ? {} : { stream: context.natsStream }),
      })
      // The runner aborts its signal once every job has finished (shutdown): the connection goes with it.
      signal.addEventListener('abort', () => void created.close(), { once: true })
      return created
    })
    return publisher
  }
  const inlineDeps = context.inlineDelivery === undefined ? undefined : deliveryDepsOf(context.inlineDelivery)
  // Per worker, shared by its batches: first attempts in flight per endpoint stay bounded.
  const gate = createInlineAttemptGate()
  // Events recorded many at once arrive up to eventsPerDispatchJobMax a job: fanning out (and attempting)
  // dispatchBatchSizeMax events at a time keeps a batch's insert and its first attempts as bounded as a
  // batch of single-event jobs.
  const fanOut = async (events: readonly StoredEvent[], signal: AbortSignal) => {
    for (let first = 0; first < events.length; first += webhookLimits.dispatchBatchSizeMax) {
      const part = events.slice(first, first + webhookLimits.dispatchBatchSizeMax)
      const created = await fanOutEvents(context.pool, part, new Date(), inlineDeps !== undefined)
      if (inlineDeps !== undefined) await attemptDeliveriesNow(inlineDeps, created, signal, gate)
    }
  }
  const handle = async (jobs: readonly JobRow[], signal: AbortSignal) => {
    const events = await loadEvents(context.pool, jobs)
    // Side by side: a slow receiver does not delay the stream, and a stream outage (the job fails and
    // retries; the fan-out then finds its deliveries made) does not leave the deliveries to the fallback.
    const [failures] = await Promise.all([
      publishEach(publisherFor(signal), jobs, events),
      fanOut([...events.values()].flat(), signal),
    ])
    return await handOffFailedGroups(context.pool, failures, events)
  }
  return batchedJobHandler({
    handle,
    sizeMax: webhookLimits.dispatchBatchSizeMax,
    concurrencyMax: webhookLimits.dispatchBatchesConcurrentMax,
    gatherMs: webhookLimits.dispatchGatherMs,
  })
}

/** The batch's events by job id, in one read. */
async function loadEvents(pool: Pool, jobs: readonly JobRow[]): Promise<Map<string, StoredEvent[]>> {
  const idsByJob = new Map(jobs.map((job) => [job.id, eventIdsOf(job.payload)]))
  const found = new Map((await getEvents(pool, [...idsByJob.values()].flat())).map((e) => [e.id, e]))
  const byJob = new Map<string, StoredEvent[]>()
  for (const [jobId, ids] of idsByJob) {
    const events = ids.map((id) => found.get(id))
    // The job commits with its events and events are immutable: a missing event is a bug, not an outage.
    assert(
      events.every((event) => event !== undefined),
      `dispatch-event job ${jobId}: event not found`,
    )
    byJob.set(jobId, events as StoredEvent[])
  }
  return byJob
}

type PublishFailure = { error: unknown; eventIds: string[] }

/** Publishes every event of the batch at once; returns, per job with a failed publish, the events that failed. */
async function publishEach(
  stream: Promise<EventPublisher> | undefined,
  jobs: readonly JobRow[],
  events: ReadonlyMap<string, readonly StoredEvent[]>,
): Promise<Map<string, PublishFailure>> {
  const failures = new Map<string, PublishFailure>()
  if (stream === undefined) return failures
  await Promise.all(
    jobs.flatMap((job) =>
      (events.get(job.id) ?? []).map(async (event) => {
        try {
          await (await stream).publish(event)
        } catch (error) {
          const failure = failures.get(job.id) ?? { error, eventIds: [] }
          failure.eventIds.push(event.id)
          failures.set(job.id, failure)
        }
      }),
    ),
  )
  return failures
}

/**
 * A job carrying one event fails with its publish and retries. A job carrying several gives each failed
 * event a job of its own (committed before this job ends) and ends: retried alone, a failed event no longer
 * re-sends its group's published events, which JetStream keeps apart once its duplicate window has passed.
 */
async function handOffFailedGroups(
  pool: Pool,
  failures: ReadonlyMap<string, PublishFailure>,
  events: ReadonlyMap<string, readonly StoredEvent[]>,
): Promise<Map<string, unknown>> {
  const failed = new Map<string, unknown>()
  const handedOff: string[] = []
  for (const [jobId, failure] of failures) {
    if ((events.get(jobId)?.length ?? 0) > 1) handedOff.push(...failure.eventIds)
    else failed.set(jobId, failure.error)
  }
  if (handedOff.length > 0) await dispatchEventsAlone(pool, handedOff)
  return failed
}
