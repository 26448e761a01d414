import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import type { EventPublisher, NatsStreamOptions } from '../modules/events/event.nats.ts'
import { getEvents } from '../modules/events/event.service.ts'
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
 * statement recorded, in groups of eventLimits.eventsPerDispatchJobMax: docs/adr/0010 §2).
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
 * batch's events, one fan-out statement to their stores' webhook endpoints (idempotent), then each event
 * published to JetStream with `Nats-Msg-Id` = event id. A publish failure fails that event's job (all of
 * its events), which retries both steps: the fan-out finds its deliveries already made, and JetStream drops
 * a duplicate within its window.
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
  const handle = async (jobs: readonly JobRow[], signal: AbortSignal) => {
    const events = await loadEvents(context.pool, jobs)
    const created = await fanOutEvents(
      context.pool,
      [...events.values()].flat(),
      new Date(),
      inlineDeps !== undefined,
    )
    // Side by side: a slow receiver does not delay the stream, and a stream outage (the job fails and
    // retries; the fan-out then finds its deliveries made) does not leave the deliveries to the fallback.
    const [failures] = await Promise.all([
      publishEach(publisherFor(signal), jobs, events),
      inlineDeps === undefined ? undefined : attemptDeliveriesNow(inlineDeps, created, signal, gate),
    ])
    return failures
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

/** Publishes every event of the batch at once; returns the jobs whose publish failed, with the error. */
async function publishEach(
  stream: Promise<EventPublisher> | undefined,
  jobs: readonly JobRow[],
  events: ReadonlyMap<string, readonly StoredEvent[]>,
): Promise<Map<string, unknown>> {
  const failures = new Map<string, unknown>()
  if (stream === undefined) return failures
  await Promise.all(
    jobs.flatMap((job) =>
      (events.get(job.id) ?? []).map(async (event) => {
        try {
          await (await stream).publish(event)
        } catch (error) {
          if (!failures.has(job.id)) failures.set(job.id, error)
        }
      }),
    ),
  )
  return failures
}
