import { deleteQueuedJob, enqueueJob, scheduleJob } from '../../db/job-queue.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { wakeWorkers } from '../../db/wake.ts'
import { describeUrlWithoutSecrets, type Logger } from '../../lib/logger.ts'
import { recordEvent } from '../events/event.service.ts'
import { type StoredEvent, testEventType } from '../events/event.types.ts'
import { createKeyedGate, type KeyedGate, type Release } from './webhook.gate.ts'
import { webhookLimits } from './webhook.limits.ts'
import type { WebhookPost } from './webhook.post.ts'
import {
  disableFailingEndpoint,
  type EndpointRow,
  markEndpointFailing,
  newDeliveryId,
  selectEnabledEndpointsOf,
} from './webhook.repo.ts'
import { type SendResult, sendWebhook } from './webhook.sender.ts'
import {
  type AttemptDecision,
  decideAfterAttempt,
  filterFromColumn,
  filterMatches,
  isSuccessStatus,
  type RetrySchedule,
  shouldDisableEndpoint,
} from './webhook.state.ts'
import type { ResolveHost, WebhookDelivery } from './webhook.types.ts'
import {
  type DeliveredAttempt,
  type DeliveryJobSpec,
  type DeliveryWork,
  ensureDeliveryJobs,
  findDeliveryWork,
  insertAttempt,
  insertDeliveries,
  insertDeliveriesWithJobs,
  markDeliveryDead,
  recordDeliveredAttempt,
  recordDeliveredAttempts,
  updatePendingDelivery,
} from './webhook-delivery.repo.ts'

/** One per worker: bounds its first attempts in flight per endpoint (inlineAttemptsPerEndpointMax). */
export function createInlineAttemptGate(): KeyedGate {
  return createKeyedGate(webhookLimits.inlineAttemptsPerEndpointMax)
}

/** Job kind that makes one attempt of one delivery (payload: deliveryId, series). */
export const deliverWebhookJobKind = 'deliver-webhook'

/** One live job per delivery and series: a redelivery gets its own, an older series' job finds nothing to do. */
export function deliveryJobDedupeKey(deliveryId: string, series: number): string {
  return `${deliverWebhookJobKind}:${deliveryId}:${series}`
}

/** The job that attempts a delivery: its payload, and one job per delivery series (the dedupe key). */
function deliveryJobOf(delivery: Pick<WebhookDelivery, 'id' | 'series'>) {
  return {
    payload: { deliveryId: delivery.id, series: delivery.series },
    options: {
      attemptsMax: webhookLimits.deliverJobAttemptsMax,
      dedupeKey: deliveryJobDedupeKey(delivery.id, delivery.series),
    },
  }
}

/** `runAt` unset: due now. Set: a fallback for an attempt made inline (see attemptDeliveriesNow). */
export async function enqueueDeliveryJob(
  client: Queryable,
  delivery: Pick<WebhookDelivery, 'id' | 'series'>,
  runAt?: Date,
) {
  const job = deliveryJobOf(delivery)
  await enqueueJob(client, deliverWebhookJobKind, job.payload, {
    ...job.options,
    ...(runAt === undefined ? {} : { runAt }),
  })
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
  return (await fanOutEvents(pool, [event], now, inlineFirstAttempt)).map((work) => work.delivery)
}

/**
 * Fans a dispatch batch out: one endpoint read for the batch's stores, then one statement that inserts a
 * delivery per matching (event, enabled endpoint) pair and a job per new delivery. That statement is
 * atomic, so a crash anywhere leaves every pair either fanned out with its job or not at all, and a re-run
 * (the batch's jobs claimed again) inserts nothing and returns nothing: exactly one delivery per pair.
 * With `inlineFirstAttempt` the jobs are fallbacks, due after inlineAttemptFallbackMs, and the caller
 * attempts the returned deliveries itself (attemptDeliveriesNow).
 */
export async function fanOutEvents(
  pool: Pool,
  events: readonly StoredEvent[],
  now: Date,
  inlineFirstAttempt: boolean,
): Promise<DeliveryWork[]> {
  // Installation-wide events have no store to deliver to (stream only); test events go to one endpoint.
  const deliverable = events.filter(
    (event): event is StoredEvent & { merchantId: string } =>
      event.merchantId !== null && event.type !== testEventType,
  )
  if (deliverable.length === 0) return []
  const endpoints = await selectEnabledEndpointsOf(pool, [
    ...new Set(deliverable.map((event) => event.merchantId)),
  ])
  const planned = deliverable.flatMap((event) =>
    matchingEndpoints(endpoints, event).map((endpoint) => ({
      id: newDeliveryId(),
      endpointId: endpoint.id,
      eventId: event.id,
      merchantId: event.merchantId,
      eventType: event.type,
    })),
  )
  // Inline, the deliveries get no job: the batch's dispatch jobs stand in for them until each attempt is
  // recorded or handed on (attemptDeliveriesNow), which saves inserting and deleting a job per delivery.
  const created = await insertDeliveriesWithJobs(
    pool,
    planned,
    inlineFirstAttempt ? undefined : deliveryJobDueAt(null),
    now,
  )
  // Jobs due now need a wake-up (one for the batch).
  if (!inlineFirstAttempt && created.length > 0) await wakeWorkers(pool, deliverWebhookJobKind)
  if (created.length < planned.length) await handOnExistingDeliveries(pool, planned, created)
  const endpointById = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]))
  const eventById = new Map(deliverable.map((event) => [event.id, event]))
  return created.flatMap((delivery) => {
    const endpoint = endpointById.get(delivery.endpointId)
    const event = eventById.get(delivery.eventId)
    return endpoint === undefined || event === undefined ? [] : [{ delivery, endpoint, event }]
  })
}

function deliveryJobDueAt(runAt: Date | null): DeliveryJobSpec {
  return { kind: deliverWebhookJobKind, attemptsMax: webhookLimits.deliverJobAttemptsMax, runAt }
}

/**
 * A re-run batch (its dispatch jobs claimed again after a lease expired) finds some deliveries made. Any
 * still pending may have been fanned out inline by a worker that died before recording or handing on
 * their attempts: each gets a job due now, unless it has one. Nothing is attempted here.
 */
async function handOnExistingDeliveries(
  pool: Pool,
  planned: readonly Readonly<{ eventId: string; endpointId: string }>[],
  created: readonly WebhookDelivery[],
): Promise<void> {
  const made = new Set(created.map((delivery) => `${delivery.eventId}>${delivery.endpointId}`))
  const existing = planned.filter((pair) => !made.has(`${pair.eventId}>${pair.endpointId}`))
  if ((await ensureDeliveryJobs(pool, existing, deliveryJobDueAt(null))) > 0)
    await wakeWorkers(pool, deliverWebhookJobKind)
}

/** The store's enabled endpoints whose filter takes the event, at most endpointsPerMerchantMax (by id). */
function matchingEndpoints(
  endpoints: readonly EndpointRow[],
  event: Readonly<{ merchantId: string; type: string }>,
): EndpointRow[] {
  return endpoints
    .filter(
      (endpoint) =>
        endpoint.merchant_id === event.merchantId &&
        filterMatches(filterFromColumn(endpoint.event_types), event.type),
    )
    .slice(0, webhookLimits.endpointsPerMerchantMax)
}

/**
 * The first attempts of freshly fanned-out deliveries, made by the fanning worker (no job hop), all at
 * once: one endpoint's slow or failing receiver delays nobody else's. At most inlineAttemptsPerEndpointMax
 * per endpoint are in flight (`gate`); a delivery that waits too long for a slot gets a job due now.
 * Delivered results are recorded together (one statement); a failure is recorded in its own transaction,
 * which gives the delivery a job at the retry time.
 *
 * Returns once every attempt is recorded, or after inlineAttemptsWaitMs: the rest go on (and are recorded)
 * on their own, so a slow receiver never holds the dispatch of other events. Until it returns, the batch's
 * dispatch jobs stand in for the deliveries' jobs; before it returns, every delivery whose attempt is not
 * recorded (still in flight, cut short by a stop, or failed to record) gets a fallback job due
 * inlineAttemptFallbackMs later, so nothing is lost once the dispatch jobs are deleted. Errors of single
 * attempts are logged, not thrown; a failure to create the fallback jobs is thrown (the batch is retried).
 */
export async function attemptDeliveriesNow(
  deps: DeliveryDeps,
  works: readonly DeliveryWork[],
  signal: AbortSignal,
  gate: KeyedGate,
): Promise<void> {
  if (works.length === 0) return
  const recorder = createDeliveredRecorder(deps, works.length)
  const settled = new Set<DeliveryWork>()
  const attempts = works.map((work) =>
    attemptInline(deps, work, signal, gate, recorder).then(
      (outcome) => {
        if (outcome.kind !== 'interrupted') settled.add(work)
      },
      (error: unknown) =>
        deps.logger.warn(
          { err: error, deliveryId: work.delivery.id, endpointId: work.endpoint.id },
          'inline webhook attempt failed to complete; its fallback job will attempt it',
        ),
    ),
  )
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, webhookLimits.inlineAttemptsWaitMs)
  })
  await Promise.race([Promise.all(attempts), waited])
  clearTimeout(timer)
  const unsettled = works.filter((work) => !settled.has(work))
  // A delivery recorded meanwhile is no longer pending and gets no job; one recorded just after gets a job
  // that finds it delivered, or its record deletes the job.
  await ensureDeliveryJobs(
    deps.pool,
    unsettled.map((work) => ({ eventId: work.event.id, endpointId: work.endpoint.id })),
    deliveryJobDueAt(new Date(deps.now().getTime() + webhookLimits.inlineAttemptFallbackMs)),
  )
}

async function attemptInline(
  deps: DeliveryDeps,
  work: DeliveryWork,
  signal: AbortSignal,
  gate: KeyedGate,
  recorder: BatchRecorder,
): Promise<DeliveryOutcome> {
  const attemptRecorder = recorder.forAttempt()
  try {
    return await attemptWork(deps, work, signal, 'inline', { gate, recorder: attemptRecorder })
  } finally {
    attemptRecorder.finish()
  }
}

/** What an inline attempt has that a job's lacks: a slot per endpoint, and a batch to record with. */
type InlineAttempt = Readonly<{ gate: KeyedGate; recorder: DeliveredRecorder }>

/** Where an inline attempt records a delivered result (see createDeliveredRecorder). */
type DeliveredRecorder = Readonly<{ record: (delivered: DeliveredAttempt) => Promise<boolean> }>

type BatchRecorder = Readonly<{
  /** One per attempt; `finish` it when the attempt is over, whether or not it recorded anything. */
  forAttempt: () => DeliveredRecorder & Readonly<{ finish: () => void }>
}>

/**
 * Groups a batch's delivered attempts into one statement: it flushes once every attempt of the batch has
 * either queued its result or finished without one, or inlineRecordGroupMs after the first result queued,
 * whichever comes first. A result that comes later goes into the next flush.
 */
function createDeliveredRecorder(deps: DeliveryDeps, expected: number): BatchRecorder {
  type Queued = {
    delivered: DeliveredAttempt
    done: (applied: boolean) => void
    fail: (error: unknown) => void
  }
  let queue: Queued[] = []
  let waitingFor = expected
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    const batch = queue
    queue = []
    if (batch.length === 0) return
    recordDeliveredAttempts(
      deps.pool,
      batch.map((item) => item.delivered),
      deps.now(),
    ).then(
      (applied) => {
        for (const item of batch) item.done(applied.has(item.delivered.expected.id))
      },
      (error: unknown) => {
        for (const item of batch) item.fail(error)
      },
    )
  }
  const arrived = () => {
    waitingFor -= 1
    if (waitingFor === 0) flush()
  }
  return {
    forAttempt: () => {
      let counted = false
      const count = () => {
        if (counted) return
        counted = true
        arrived()
      }
      return {
        record: (delivered) => {
          const applied = new Promise<boolean>((done, fail) => queue.push({ delivered, done, fail }))
          timer ??= setTimeout(flush, webhookLimits.inlineRecordGroupMs)
          count()
          return applied
        },
        finish: count,
      }
    },
  }
}

export type DeliveryDeps = Readonly<{
  pool: Pool
  logger: Logger
  post: WebhookPost
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
  /** An inline attempt cut short by a stopping worker: nothing recorded, and the delivery needs a job. */
  | Readonly<{ kind: 'interrupted' }>

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
  inline?: InlineAttempt,
): Promise<DeliveryOutcome> {
  const { delivery, endpoint } = work
  if (!endpoint.enabled) {
    await markDeliveryDead(deps.pool, delivery, 'endpoint-disabled', deps.now())
    return { kind: 'dead' }
  }
  // The slot covers the POST only, not the recording: a batch's results wait for each other to be
  // recorded together, and must not hold slots the rest of the batch needs to send.
  let release: Release | undefined
  if (inline !== undefined) {
    release = await inline.gate.acquire(endpoint.id, webhookLimits.inlineAttemptSlotWaitMs)
    if (release === undefined) {
      // A job makes the first attempt instead, now rather than at the fallback time: a busy receiver
      // (or a busy worker) should cost a job hop, not a minute.
      await scheduleDeliveryJob(deps.pool, delivery, null)
      return { kind: 'skipped', reason: 'endpoint busy: left to its job' }
    }
  }
  const now = deps.now()
  const sent = await sendWebhook(
    {
      url: endpoint.url,
      access: { insecure: endpoint.allow_insecure, local: endpoint.allow_local },
      secrets: signingSecrets(endpoint, now),
      event: work.event,
      now,
    },
    { post: deps.post, resolveHost: deps.resolveHost, timeoutMs: deps.timeoutMs, signal },
  ).finally(() => release?.())
  // The worker is stopping and cut the POST short: that says nothing about the receiver. The fallback job
  // sends it again (same webhook-id); a job's own attempt is recorded, since nothing else would retry it.
  if (by === 'inline' && signal.aborted) return { kind: 'interrupted' }
  const decision = decideAfterAttempt({
    attempt: delivery.attempts + 1,
    succeeded: isSuccessStatus(sent.statusCode),
    schedule: deps.schedule,
    randomUnit: deps.random(),
  })
  return await recordAttempt(deps, work, sent, decision, by, inline?.recorder)
}

/** Who makes an attempt: the delivery's job (the runner reschedules it), or the fanning worker inline. */
type AttemptedBy = 'job' | 'inline'

async function recordAttempt(
  deps: DeliveryDeps,
  work: DeliveryWork,
  sent: SendResult,
  decision: AttemptDecision,
  by: AttemptedBy,
  recorder?: DeliveredRecorder,
): Promise<DeliveryOutcome> {
  const { delivery, endpoint } = work
  const now = deps.now()
  const attempt = delivery.attempts + 1
  // Built only when logged: a delivered attempt logs at debug, off in production. A failure's `cause` is
  // the network's own code and message, for the operator only: the store sees the class (`error`).
  const logFields = () => ({
    deliveryId: delivery.id,
    endpointId: endpoint.id,
    url: describeUrlWithoutSecrets(endpoint.url),
    attempt,
    series: delivery.series,
    statusCode: sent.statusCode,
    error: sent.error,
    cause: sent.cause,
    durationMs: sent.durationMs,
  })
  if (decision.kind === 'delivered' && recorder !== undefined) {
    const applied = await recorder.record({
      attempt: { deliveryId: delivery.id, series: delivery.series, attempt, ...sent },
      expected: { ...delivery, endpointId: endpoint.id },
      fallbackJobKey: deliveryJobDedupeKey(delivery.id, delivery.series),
    })
    if (!applied) return { kind: 'skipped', reason: 'another worker recorded this attempt' }
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug(logFields(), 'webhook delivered')
    return decision
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
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug(logFields(), 'webhook delivered')
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
    deps.logger.warn({ ...logFields(), outcome: final.kind }, 'webhook attempt failed')
    return final
  })
}

/**
 * After an inline attempt: a fallback job, if the batch made one, goes (delivered, dead); a retry gets its
 * job at the retry time, made or moved.
 */
async function settleFallbackJob(
  client: Queryable,
  delivery: WebhookDelivery,
  final: AttemptDecision,
  now: Date,
): Promise<void> {
  if (final.kind === 'retry')
    await scheduleDeliveryJob(client, delivery, new Date(now.getTime() + final.delayMs))
  else await deleteQueuedJob(client, deliveryJobDedupeKey(delivery.id, delivery.series))
}

/** The delivery's job due at `runAt` (null: now), made if it has none, moved if it is queued. */
async function scheduleDeliveryJob(
  client: Queryable,
  delivery: Pick<WebhookDelivery, 'id' | 'series'>,
  runAt: Date | null,
): Promise<void> {
  const job = deliveryJobOf(delivery)
  await scheduleJob(client, deliverWebhookJobKind, job.payload, { ...job.options, runAt })
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
