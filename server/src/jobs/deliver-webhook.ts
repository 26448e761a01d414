import type { Pool } from '../db/pool.ts'
import { assert } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import { webhookLimits } from '../modules/webhooks/webhook.limits.ts'
import { postWebhook, type WebhookPost } from '../modules/webhooks/webhook.post.ts'
import { defaultRetrySchedule, type RetrySchedule } from '../modules/webhooks/webhook.state.ts'
import type { ResolveHost } from '../modules/webhooks/webhook.types.ts'
import { resolveHostWithDns } from '../modules/webhooks/webhook.url.ts'
import { attemptDelivery, type DeliveryDeps } from '../modules/webhooks/webhook-dispatch.service.ts'
import { type JobHandler, RetryLater } from './runner.ts'

export type DeliverWebhookContext = Readonly<{
  pool: Pool
  logger: Logger
  /** Tests stand in for a TLS-terminating proxy (production: webhook.post.ts over node:http/https). */
  post?: WebhookPost
  /** Tests shorten the retry schedule (production: Svix's, over ~27 h). */
  retrySchedule?: RetrySchedule
  /** Tests move time forward to reach the auto-disable window. */
  now?: () => Date
  resolveHost?: ResolveHost
  timeoutMs?: number
  random?: () => number
}>

function jobTarget(payload: Record<string, unknown>): { deliveryId: string; series: number } {
  const { deliveryId, series } = payload
  assert(typeof deliveryId === 'string', 'deliver-webhook job without a deliveryId')
  assert(typeof series === 'number' && Number.isInteger(series), 'deliver-webhook job without a series')
  return { deliveryId, series }
}

/**
 * `deliver-webhook`: one attempt of one delivery. A failed attempt asks the runner to come back at the
 * schedule's next time (RetryLater); the delivery row, not the job, counts attempts and decides `dead`.
 */
export function createDeliverWebhookHandler(context: DeliverWebhookContext): JobHandler {
  const deps = deliveryDepsOf(context)
  return async (job, signal) => {
    const outcome = await attemptDelivery(deps, jobTarget(job.payload), signal)
    if (outcome.kind === 'retry')
      throw new RetryLater(outcome.delayMs, 'webhook receiver failed; retry scheduled')
  }
}

/** The production defaults, overridable by tests; shared with the dispatcher's inline first attempt. */
export function deliveryDepsOf(context: DeliverWebhookContext): DeliveryDeps {
  return {
    pool: context.pool,
    logger: context.logger,
    post: context.post ?? postWebhook,
    resolveHost: context.resolveHost ?? resolveHostWithDns,
    now: context.now ?? (() => new Date()),
    random: context.random ?? Math.random,
    schedule: context.retrySchedule ?? defaultRetrySchedule,
    timeoutMs: context.timeoutMs ?? webhookLimits.requestTimeoutMs,
    disableAfterMs: webhookLimits.endpointDisableAfterMs,
  }
}
