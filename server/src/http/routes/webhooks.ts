import { pageSizeDefault } from '@sluice/sdk/api/common'
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookDelivery,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpointDeliveries,
  listWebhookEndpoints,
  redeliverWebhookDelivery,
  rotateWebhookEndpointSecret,
  sendWebhookEndpointTest,
  updateWebhookEndpoint,
  type WebhookDeliveryAttempt as WireAttempt,
  type WebhookDelivery as WireDelivery,
  type WebhookEndpoint as WireEndpoint,
  type WebhookEndpointWithSecret as WireEndpointWithSecret,
} from '@sluice/sdk/api/webhooks'
import type { FastifyInstance } from 'fastify'
import { AppError, isAppError } from '../../lib/errors.ts'
import {
  createEndpoint,
  deleteEndpoint,
  getDelivery,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  redeliver,
  rotateSecret,
  sendTest,
  updateEndpoint,
} from '../../modules/webhooks/webhook.service.ts'
import type {
  DeliveryAttempt,
  DeliveryStatus,
  EndpointWithSecret,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../modules/webhooks/webhook.types.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/** Routes of the webhooks module: endpoints, their secrets, deliveries and attempts. Every call is store-scoped. */

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString())

/**
 * A password in an endpoint URL (basic auth for the receiver) is a secret of the merchant's server: any
 * key with webhooks:read could read it from a list, so it is masked when shown.
 */
export function maskUrlPassword(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return text
  }
  if (url.password === '') return text
  url.password = '***'
  return url.toString()
}

export function endpointToWire(endpoint: WebhookEndpoint): WireEndpoint {
  return {
    id: endpoint.id,
    url: maskUrlPassword(endpoint.url),
    description: endpoint.description,
    event_filter: endpoint.eventFilter === '*' ? '*' : [...endpoint.eventFilter],
    enabled: endpoint.enabled,
    disabled_reason: endpoint.disabledReason,
    disabled_at: iso(endpoint.disabledAt),
    failing_since: iso(endpoint.failingSince),
    allow_insecure: endpoint.allowInsecure,
    previous_secret_expires_at: iso(endpoint.previousSecretExpiresAt),
    created_at: endpoint.createdAt.toISOString(),
    updated_at: endpoint.updatedAt.toISOString(),
  }
}

const withSecretToWire = (created: EndpointWithSecret): WireEndpointWithSecret => ({
  ...endpointToWire(created.endpoint),
  secret: created.secret,
})

// The secret is shown once and never stored, not even in the idempotency record (as for API keys).
const withoutSecret = {
  storedResponse: (response: WireEndpointWithSecret) => ({ ...response, secret: null }),
}

export function deliveryToWire(delivery: WebhookDelivery): WireDelivery {
  return {
    id: delivery.id,
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    status: delivery.status,
    series: delivery.series,
    attempt_count: delivery.attempts,
    next_attempt_at: iso(delivery.nextAttemptAt),
    last_attempt_at: iso(delivery.lastAttemptAt),
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    delivered_at: iso(delivery.deliveredAt),
    created_at: delivery.createdAt.toISOString(),
  }
}

const attemptToWire = (attempt: DeliveryAttempt): WireAttempt => ({
  series: attempt.series,
  attempt: attempt.attempt,
  started_at: attempt.startedAt.toISOString(),
  duration_ms: attempt.durationMs,
  status_code: attempt.statusCode,
  error: attempt.error,
  response_excerpt: attempt.responseExcerpt,
})

/** The service names inputs by its own field names; the API reports them at their wire paths. */
const wirePaths: Readonly<Record<string, string>> = {
  url: 'body.url',
  eventFilter: 'body.event_filter',
  description: 'body.description',
  overlapMs: 'body.overlap_seconds',
  limit: 'query.limit',
  cursor: 'query.starting_after',
}

async function atWirePaths<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (!isAppError(error) || error.details.length === 0) throw error
    const details = error.details.map((detail) => ({
      ...detail,
      path: wirePaths[detail.path] ?? detail.path,
    }))
    throw new AppError(error.code, error.httpStatus, error.message, { details, cause: error })
  }
}

export function registerWebhookRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  registerEndpointRoutes(app, dependencies)
  registerSecretAndTestRoutes(app, dependencies)
  registerDeliveryRoutes(app, dependencies)
}

function registerEndpointRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    createWebhookEndpoint,
    // Automatic idempotency (at-least-once across a crash): createEndpoint commits in its own
    // transaction, so the record cannot join it. A repeat costs one extra endpoint, bounded per store.
    async ({ principal, body }) =>
      withSecretToWire(
        await atWirePaths(() =>
          createEndpoint(pool, {
            merchantId: principal.merchantId,
            url: body.url,
            eventFilter: body.event_filter,
            allowLocal: dependencies.webhookLocalEndpoints,
            ...(body.description === undefined ? {} : { description: body.description }),
          }),
        ),
      ),
    dependencies,
    withoutSecret,
  )

  registerOperation(
    app,
    listWebhookEndpoints,
    async ({ principal, query }) => {
      // The service returns all of a store's endpoints (at most 16), so paging happens here, by id like
      // every list: newest first, keyset on the ULID.
      const all = (await listEndpoints(pool, principal.merchantId)).map(endpointToWire)
      const after = query.starting_after
      const newestFirst = all
        .filter((endpoint) => after === undefined || endpoint.id < after)
        .sort((a, b) => (a.id < b.id ? 1 : -1))
      const limit = query.limit ?? pageSizeDefault
      return { data: newestFirst.slice(0, limit), has_more: newestFirst.length > limit }
    },
    dependencies,
  )

  registerOperation(
    app,
    getWebhookEndpoint,
    async ({ principal, params }) =>
      endpointToWire(await getEndpoint(pool, { merchantId: principal.merchantId, endpointId: params.id })),
    dependencies,
  )

  registerOperation(
    app,
    updateWebhookEndpoint,
    async ({ principal, params, body }) => {
      const input = {
        merchantId: principal.merchantId,
        endpointId: params.id,
        // A new URL is judged by the gateway's setting now, as a new endpoint would be.
        ...(body.url === undefined ? {} : { url: body.url, allowLocal: dependencies.webhookLocalEndpoints }),
        ...(body.event_filter === undefined ? {} : { eventFilter: body.event_filter }),
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.enabled === undefined ? {} : { enabled: body.enabled }),
      }
      return endpointToWire(await atWirePaths(() => updateEndpoint(pool, input)))
    },
    dependencies,
  )

  registerOperation(
    app,
    deleteWebhookEndpoint,
    async ({ principal, params }) => {
      await deleteEndpoint(pool, { merchantId: principal.merchantId, endpointId: params.id })
      return { id: params.id, deleted: true as const }
    },
    dependencies,
  )
}

function registerSecretAndTestRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    rotateWebhookEndpointSecret,
    async ({ principal, params, body }) => {
      const input = {
        merchantId: principal.merchantId,
        endpointId: params.id,
        ...(body.overlap_seconds === undefined ? {} : { overlapMs: body.overlap_seconds * 1000 }),
      }
      return withSecretToWire(await atWirePaths(() => rotateSecret(pool, input)))
    },
    dependencies,
    withoutSecret,
  )

  registerOperation(
    app,
    sendWebhookEndpointTest,
    async ({ principal, params }) => {
      const sent = await sendTest(pool, { merchantId: principal.merchantId, endpointId: params.id })
      return deliveryToWire(sent.delivery)
    },
    dependencies,
  )
}

type DeliveryQuery = Readonly<{
  limit?: number | undefined
  starting_after?: string | undefined
  status?: DeliveryStatus | undefined
  event_id?: string | undefined
}>

function deliveryFilter(query: DeliveryQuery) {
  return {
    limit: query.limit ?? pageSizeDefault,
    ...(query.starting_after === undefined ? {} : { cursor: query.starting_after }),
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.event_id === undefined ? {} : { eventId: query.event_id }),
  }
}

function registerDeliveryRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    listWebhookEndpointDeliveries,
    async ({ principal, params, query }) => {
      const { merchantId } = principal
      // Another store's endpoint is a 404, never an empty list that would confirm nothing either way.
      await getEndpoint(pool, { merchantId, endpointId: params.id })
      const filter = { merchantId, endpointId: params.id, ...deliveryFilter(query) }
      const page = await atWirePaths(() => listDeliveries(pool, filter))
      return { data: page.deliveries.map(deliveryToWire), has_more: page.nextCursor !== null }
    },
    dependencies,
  )

  registerOperation(
    app,
    listWebhookDeliveries,
    async ({ principal, query }) => {
      const filter = { merchantId: principal.merchantId, ...deliveryFilter(query) }
      const page = await atWirePaths(() => listDeliveries(pool, filter))
      return { data: page.deliveries.map(deliveryToWire), has_more: page.nextCursor !== null }
    },
    dependencies,
  )

  registerOperation(
    app,
    getWebhookDelivery,
    async ({ principal, params }) => {
      const found = await getDelivery(pool, { merchantId: principal.merchantId, deliveryId: params.id })
      return { ...deliveryToWire(found.delivery), attempts: found.attempts.map(attemptToWire) }
    },
    dependencies,
  )

  registerOperation(
    app,
    redeliverWebhookDelivery,
    async ({ principal, params }) =>
      deliveryToWire(await redeliver(pool, { merchantId: principal.merchantId, deliveryId: params.id })),
    dependencies,
  )
}
