import { deleteQueuedJob, enqueueJob, rescheduleQueuedJob } from '../../db/job-queue.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { describeUrlWithoutSecrets, type Logger } from '../../lib/logger.ts'
import { recordEvent } from '../events/event.service.ts'
import { type StoredEvent, testEventType } from '../events/event.types.ts'
import { webhookLimits } from './webhook.limits.ts'
import {
  disableFailingEndpoint,
  markEndpointFailing,
  newDeliveryId,
  selectMatchingEndpoints,
} from './webhook.repo.ts'
import { type SendResult, sendWebhook } from './webhook.sender.ts'
import {
  type AttemptDecision,
  decideAfterAttempt,
  isSuccessStatus,
  type RetrySchedule,
  shouldDisableEndpoint,
} from './webhook.state.ts'
import type { ResolveHost, WebhookDelivery } from './webhook.types.ts'
import {
  type DeliveryWork,
  findDeliveryWork,
  insertAttempt,
  insertDeliveries,
  markDeliveryDead,
  recordDeliveredAttempt,
  updatePendingDelivery,
} from './webhook-delivery.repo.ts'

/** Job kind that makes one attempt of one delivery (payload: deliveryId, series). */
export const deliverWebhookJobKind = 'deliver-webhook'

/** One live job per delivery and series: a redelivery gets its own, an older series' job finds nothing to do. */
export function deliveryJobDedupeKey(deliveryId: string, series: number): string {
  return `${deliverWebhookJobKind}:${deliveryId}:${series}`
}

/** `runAt` unset: due now. Set: a fallback for an attempt made inline (see attemptDeliveriesNow). */
export async function enqueueDeliveryJob(
  client: Queryable,
  delivery: Pick<WebhookDelivery, 'id' | 'series'>,
  runAt?: Date,
) {
  await enqueueJob(
    client,
    deliverWebhookJobKind,
    { deliveryId: delivery.id, series: delivery.series },
    {
      attemptsMax: webhookLimits.deliverJobAttemptsMax,
      dedupeKey: deliveryJobDedupeKey(delivery.id, delivery.series),
      ...(runAt === undefined ? {} : { runAt }),
    },
  )
}

/**
 * Inserts deliveries of `event` to `endpointIds` and their jobs, in the caller's transaction; idempotent.
 * With `inlineFirstAttempt` the jobs are fallbacks, due after inlineAttemptFallbackMs.
 */
export async function createDeliveries(
  client: Queryable,
  event: Pick<StoredEvent, 'id' | 'type'> & { merchantId: string },
  endpointIds: readonly string[],
  now: Date,
  inlineFirstAttempt = false,
): Promise<WebhookDelivery[]> {
  const planned = endpointIds.map((endpointId) => ({ id: newDeliveryId(), endpointId }))
  const created = await insertDeliveries(client, event, planned, now)
  const runAt = inlineFirstAttempt
    ? new Date(now.getTime() + webhookLimits.inlineAttemptFallbackMs)
    : undefined
  for (const delivery of created) await enqueueDeliveryJob(client, delivery, runAt)
  return created
}

/**
 * Fans a recorded event out: one delivery (and one job) per enabled endpoint of its store whose filter
 * matches, all in one transaction. Safe to run again: existing deliveries are left alone and get no new job.
 * With `inlineFirstAttempt` the caller attempts the returned deliveries itself (attemptDeliveriesNow).
 */
export async function fanOutEvent(
  pool: Pool,
  event: StoredEvent,
  now: Date = new Date(),
  inlineFirstAttempt = false,
): Promise<WebhookDelivery[]> {
  return (await fanOutEventWork(pool, event, now, inlineFirstAttempt)).map((work) => work.delivery)
}

/** As fanOutEvent, with what an attempt of each new delivery needs (no second read to attempt them). */
export async function fanOutEventWork(
  pool: Pool,
  event: StoredEvent,
  now: Date,
  inlineFirstAttempt: boolean,
): Promise<DeliveryWork[]> {
  const merchantId = event.merchantId
  // Installation-wide events have no store to deliver to (stream only); test events go to one endpoint.
  if (merchantId === null || event.type === testEventType) return []
  return await withTransaction(pool, async (client) => {
    const endpoints = await selectMatchingEndpoints(
      client,
      merchantId,
      event.type,
      webhookLimits.endpointsPerMerchantMax,
    )
    const created = await createDeliveries(
      client,
      { ...event, merchantId },
      endpoints.map((endpoint) => endpoint.id),
      now,
      inlineFirstAttempt,
    )
    const byId = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]))
    return created.flatMap((delivery) => {
      const endpoint = byId.get(delivery.endpointId)
      return endpoint === undefined ? [] : [{ delivery, endpoint, event }]
    })
  })
}

/**
 * The first attempt of freshly fanned-out deliveries, made by the fanning worker (no job hop). Each
 * delivery's fallback job is then deleted (delivered, dead) or moved to the retry time, in the
 * transaction that records the attempt; if this worker dies first, the fallback job attempts instead.
 */
export async function attemptDeliveriesNow(
  deps: DeliveryDeps,
  works: readonly DeliveryWork[],
  signal: AbortSignal,
): Promise<DeliveryOutcome[]> {
  return await Promise.all(works.map((work) => attemptWork(deps, work, signal, 'inline')))
}

export type DeliveryDeps = Readonly<{
  pool: Pool
  logger: Logger
  fetch: typeof fetch
  resolveHost: ResolveHost
  now: () => Date
  random: () => number
  schedule: RetrySchedule
  timeoutMs: number
  disableAfterMs: number
}>

export type DeliveryOutcome =
  | Readonly<{ kind: 'skipped'; reason: string }>
  | Readonly<{ kind: 'delivered' }>
  | Readonly<{ kind: 'retry'; delayMs: number }>
  | Readonly<{ kind: 'dead' }>

/** Secrets that sign now: the current one, plus the previous one while its overlap lasts. */
function signingSecrets(endpoint: DeliveryWork['endpoint'], now: Date): string[] {
  const overlapping =
    endpoint.previous_secret !== null &&
    endpoint.previous_secret_expires_at !== null &&
    endpoint.previous_secret_expires_at > now
  return overlapping && endpoint.previous_secret !== null
    ? [endpoint.secret, endpoint.previous_secret]
    : [endpoint.secret]
}

/**
 * Makes one attempt of a delivery, from persisted state: re-reads the delivery, its endpoint and event,
 * POSTs outside any transaction, then records the attempt and its consequences in one transaction.
 * The caller (the job) turns `retry` into a RetryLater at the returned delay.
 */
export async function attemptDelivery(
  deps: DeliveryDeps,
  job: Readonly<{ deliveryId: string; series: number }>,
  signal: AbortSignal,
  by: AttemptedBy = 'job',
): Promise<DeliveryOutcome> {
  const work = await findDeliveryWork(deps.pool, job.deliveryId)
  if (work === undefined) return { kind: 'skipped', reason: 'delivery or endpoint deleted' }
  const { delivery } = work
  if (delivery.series !== job.series || delivery.status !== 'pending')
    return { kind: 'skipped', reason: `delivery is ${delivery.status} in series ${delivery.series}` }
  return await attemptWork(deps, work, signal, by)
}

async function attemptWork(
  deps: DeliveryDeps,
  work: DeliveryWork,
  signal: AbortSignal,
  by: AttemptedBy,
): Promise<DeliveryOutcome> {
  const { delivery, endpoint } = work
  if (!endpoint.enabled) {
    await markDeliveryDead(deps.pool, delivery, 'endpoint disabled', deps.now())
    return { kind: 'dead' }
  }
  const now = deps.now()
  const sent = await sendWebhook(
    {
      url: endpoint.url,
      allowInsecure: endpoint.allow_insecure,
      secrets: signingSecrets(endpoint, now),
      event: work.event,
      now,
    },
    { fetch: deps.fetch, resolveHost: deps.resolveHost, timeoutMs: deps.timeoutMs, signal },
  )
  const decision = decideAfterAttempt({
    attempt: delivery.attempts + 1,
    succeeded: isSuccessStatus(sent.statusCode),
    schedule: deps.schedule,
    randomUnit: deps.random(),
  })
  return await recordAttempt(deps, work, sent, decision, by)
}

/** Who makes an attempt: the delivery's job (the runner reschedules it), or the fanning worker inline. */
type AttemptedBy = 'job' | 'inline'

async function recordAttempt(
  deps: DeliveryDeps,
  work: DeliveryWork,
  sent: SendResult,
  decision: AttemptDecision,
  by: AttemptedBy,
): Promise<DeliveryOutcome> {
  const { delivery, endpoint } = work
  const now = deps.now()
  const attempt = delivery.attempts + 1
  const logFields = {
    deliveryId: delivery.id,
    endpointId: endpoint.id,
    url: describeUrlWithoutSecrets(endpoint.url),
    attempt,
    series: delivery.series,
    statusCode: sent.statusCode,
    error: sent.error,
    durationMs: sent.durationMs,
  }
  if (decision.kind === 'delivered') {
    // The common case in one statement, no transaction; a fallback job left by a crash between the two
    // statements finds the delivery delivered and does nothing.
    const applied = await recordDeliveredAttempt(
      deps.pool,
      { deliveryId: delivery.id, series: delivery.series, attempt, ...sent },
      { ...delivery, endpointId: endpoint.id },
      now,
    )
    if (!applied) return { kind: 'skipped', reason: 'another worker recorded this attempt' }
    if (by === 'inline') await settleFallbackJob(deps.pool, delivery, decision, now)
    deps.logger.debug(logFields, 'webhook delivered')
    return decision
  }
  return await withTransaction(deps.pool, async (client) => {
    await insertAttempt(client, { deliveryId: delivery.id, series: delivery.series, attempt, ...sent })
    const disabled = await noteFailure(deps, client, work, now)
    const final: AttemptDecision = disabled ? { kind: 'dead' } : decision
    const applied = await updatePendingDelivery(
      client,
      delivery,
      deliveryUpdate(final, sent, now, attempt),
      now,
    )
    if (!applied) return { kind: 'skipped', reason: 'another worker recorded this attempt' }
    if (by === 'inline') await settleFallbackJob(client, delivery, final, now)
    deps.logger.warn({ ...logFields, outcome: final.kind }, 'webhook attempt failed')
    return final
  })
}

/** After an inline attempt: the fallback job goes (delivered, dead) or waits for the retry time. */
async function settleFallbackJob(
  client: Queryable,
  delivery: WebhookDelivery,
  final: AttemptDecision,
  now: Date,
): Promise<void> {
  const dedupeKey = deliveryJobDedupeKey(delivery.id, delivery.series)
  if (final.kind === 'retry')
    await rescheduleQueuedJob(client, dedupeKey, new Date(now.getTime() + final.delayMs))
  else await deleteQueuedJob(client, dedupeKey)
}

function deliveryUpdate(decision: AttemptDecision, sent: SendResult, now: Date, attempt: number) {
  return {
    status: decision.kind === 'retry' ? ('pending' as const) : decision.kind,
    attempts: attempt,
    nextAttemptAt: decision.kind === 'retry' ? new Date(now.getTime() + decision.delayMs) : null,
    lastAttemptAt: sent.startedAt,
    lastStatusCode: sent.statusCode,
    lastError: sent.error,
    deliveredAt: decision.kind === 'delivered' ? now : null,
  }
}

/**
 * Starts (or continues) the endpoint's failing window; when it has lasted endpointDisableAfterMs, disables
 * the endpoint and records `webhook_endpoint.disabled` (delivered to the store's other endpoints and the
 * stream). Returns true when this attempt disabled it.
 */
async function noteFailure(
  deps: DeliveryDeps,
  client: Queryable,
  work: DeliveryWork,
  now: Date,
): Promise<boolean> {
  const { endpoint } = work
  const failingSince = await markEndpointFailing(client, endpoint.id, now)
  if (!shouldDisableEndpoint(failingSince, now, deps.disableAfterMs)) return false
  if (!(await disableFailingEndpoint(client, endpoint.id, now))) return true
  await recordEvent(client, {
    type: 'webhook_endpoint.disabled',
    merchantId: endpoint.merchant_id,
    subjectId: endpoint.id,
    payload: {
      endpoint_id: endpoint.id,
      url: describeUrlWithoutSecrets(endpoint.url),
      reason: 'failing',
      failing_since: failingSince.toISOString(),
      disabled_at: now.toISOString(),
    },
  })
  deps.logger.warn(
    { endpointId: endpoint.id, url: describeUrlWithoutSecrets(endpoint.url), failingSince },
    'webhook endpoint disabled after failing too long',
  )
  return true
}
