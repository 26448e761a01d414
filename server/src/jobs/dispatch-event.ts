import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import type { EventPublisher, NatsStreamOptions } from '../modules/events/event.nats.ts'
import { getEvent } from '../modules/events/event.service.ts'
import { attemptDeliveriesNow, fanOutEventWork } from '../modules/webhooks/webhook-dispatch.service.ts'
import { type DeliverWebhookContext, deliveryDepsOf } from './deliver-webhook.ts'
import type { JobHandler } from './runner.ts'

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

function eventIdOf(payload: Record<string, unknown>): string {
  const eventId = payload.eventId
  assert(typeof eventId === 'string', 'dispatch-event job without an eventId')
  return eventId
}

/**
 * `dispatch-event`: fans one outbox event out to its store's webhook endpoints (idempotent), then
 * publishes it to JetStream with `Nats-Msg-Id` = event id. A publish failure fails the job, which retries
 * both steps: the fan-out finds its deliveries already made, and JetStream drops a duplicate publish.
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
  return async (job, signal) => {
    const event = await getEvent(context.pool, eventIdOf(job.payload))
    // The job commits with its event and events are immutable: a missing event is a bug, not an outage.
    assert(event !== undefined, `dispatch-event job ${job.id}: event not found`)
    const created = await fanOutEventWork(context.pool, event, new Date(), inlineDeps !== undefined)
    // Side by side: a slow receiver does not delay the stream, and a stream outage (the job fails and
    // retries; the fan-out then finds its deliveries made) does not leave the deliveries to the fallback.
    const [published, attempted] = await Promise.allSettled([
      publisherFor(signal)?.then((stream) => stream.publish(event)),
      inlineDeps === undefined ? undefined : attemptDeliveriesNow(inlineDeps, created, signal),
    ])
    if (published.status === 'rejected') throw published.reason
    if (attempted.status === 'rejected') throw attempted.reason
  }
}
