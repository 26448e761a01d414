import { limits } from '../../config/limits.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { recordTestEvent } from '../events/event.service.ts'
import { eventTypes } from '../events/event.types.ts'
import {
  webhookCursorInvalid,
  webhookDeliveryNotFound,
  webhookDescriptionTooLong,
  webhookEndpointDisabled,
  webhookEndpointNotFound,
  webhookEndpointsLimitReached,
  webhookEventFilterInvalid,
  webhookPageInvalid,
  webhookRedeliveryLimitReached,
  webhookRotationOverlapInvalid,
} from './webhook.errors.ts'
import { webhookLimits } from './webhook.limits.ts'
import {
  countEndpoints,
  deleteEndpointRow,
  type EndpointRow,
  findEndpoint,
  insertEndpoint,
  lockMerchantEndpoints,
  selectEndpoints,
  toEndpoint,
  updateEndpointSecret,
  updateEndpointSettings,
} from './webhook.repo.ts'
import { generateWebhookSecret } from './webhook.signature.ts'
import { filterToColumn } from './webhook.state.ts'
import type {
  CreateEndpointInput,
  DeliveryAttempt,
  DeliveryPage,
  EndpointWithSecret,
  EventFilter,
  ListDeliveriesInput,
  ResolveHost,
  UpdateEndpointInput,
  WebhookDelivery,
  WebhookEndpoint,
} from './webhook.types.ts'
import { resolveHostWithDns, validateEndpointUrl } from './webhook.url.ts'
import { findDelivery, restartDelivery, selectAttempts, selectDeliveries } from './webhook-delivery.repo.ts'
import { createDeliveries, enqueueDeliveryJob } from './webhook-dispatch.service.ts'

/** Injectable edges of the service: the clock (rotation overlaps, auto-disable) and DNS (SSRF checks). */
export type WebhookServiceOptions = Readonly<{ now?: () => Date; resolveHost?: ResolveHost }>

const clockOf = (options: WebhookServiceOptions) => options.now ?? (() => new Date())

/** Accepts `*` (or a list holding it) or a non-empty list of known event types; duplicates are dropped. */
export function parseEventFilter(filter: unknown): EventFilter {
  if (filter === '*') return '*'
  if (!Array.isArray(filter) || filter.length === 0)
    throw webhookEventFilterInvalid('eventFilter must be "*" or a non-empty list of event types')
  if (filter.includes('*')) return '*'
  const known = eventTypes as readonly string[]
  const unknown = filter.filter((type) => typeof type !== 'string' || !known.includes(type))
  if (unknown.length > 0)
    throw webhookEventFilterInvalid(`unknown event types: ${unknown.map(String).join(', ')}`)
  return [...new Set(filter as EventFilter & readonly string[])] as EventFilter
}

function checkDescription(description: string): string {
  if (description.length > webhookLimits.descriptionLengthMax) throw webhookDescriptionTooLong()
  return description
}

/**
 * Creates an endpoint for a store and returns it with its signing secret. The secret is shown only here
 * (and by rotateSecret): store it on the receiving side. Refuses URLs that are not https (unless
 * allowInsecure, to loopback/private hosts) or that resolve to link-local/metadata addresses.
 */
export async function createEndpoint(
  pool: Pool,
  input: CreateEndpointInput,
  options: WebhookServiceOptions = {},
): Promise<EndpointWithSecret> {
  const access = { insecure: input.allowInsecure ?? false, local: input.allowLocal ?? false }
  const url = await validateEndpointUrl(input.url, access, options.resolveHost ?? resolveHostWithDns)
  const eventFilter = parseEventFilter(input.eventFilter)
  const description = checkDescription(input.description ?? '')
  const secret = generateWebhookSecret()
  return await withTransaction(pool, async (client) => {
    await lockMerchantEndpoints(client, input.merchantId)
    if ((await countEndpoints(client, input.merchantId)) >= webhookLimits.endpointsPerMerchantMax)
      throw webhookEndpointsLimitReached()
    const row = await insertEndpoint(client, {
      id: newId('whk'),
      merchant_id: input.merchantId,
      url: url.toString(),
      description,
      event_types: filterToColumn(eventFilter),
      allow_insecure: access.insecure,
      allow_local: access.local,
      secret,
      now: clockOf(options)(),
    })
    return { endpoint: toEndpoint(row), secret }
  })
}

/** A store's endpoints, oldest first (at most endpointsPerMerchantMax exist). */
export async function listEndpoints(db: Queryable, merchantId: string): Promise<WebhookEndpoint[]> {
  return (await selectEndpoints(db, merchantId, webhookLimits.endpointsPerMerchantMax)).map(toEndpoint)
}

export async function getEndpoint(
  db: Queryable,
  input: Readonly<{ merchantId: string; endpointId: string }>,
): Promise<WebhookEndpoint> {
  const row = await findEndpoint(db, input.merchantId, input.endpointId)
  if (row === undefined) throw webhookEndpointNotFound(input.endpointId)
  return toEndpoint(row)
}

/** The row after applying `input`'s changes to enablement: re-enabling starts a fresh failing window. */
function enablement(row: EndpointRow, enabled: boolean | undefined, now: Date) {
  if (enabled === undefined || enabled === row.enabled)
    return {
      enabled: row.enabled,
      disabled_reason: row.disabled_reason,
      disabled_at: row.disabled_at,
      failing_since: row.failing_since,
    }
  return enabled
    ? { enabled: true, disabled_reason: null, disabled_at: null, failing_since: null }
    : {
        enabled: false,
        disabled_reason: 'manual' as const,
        disabled_at: now,
        failing_since: row.failing_since,
      }
}

/**
 * Changes an endpoint's URL, filter, description, insecure flag or enablement (only the given fields).
 * A changed URL or flag is validated like at creation. Re-enabling does not resend dead deliveries: use
 * redeliver for those.
 */
export async function updateEndpoint(
  pool: Pool,
  input: UpdateEndpointInput,
  options: WebhookServiceOptions = {},
): Promise<WebhookEndpoint> {
  const now = clockOf(options)()
  const eventFilter = input.eventFilter === undefined ? undefined : parseEventFilter(input.eventFilter)
  const description = input.description === undefined ? undefined : checkDescription(input.description)
  const current = await getEndpoint(pool, input)
  const access = {
    insecure: input.allowInsecure ?? current.allowInsecure,
    local: input.allowLocal ?? current.allowLocal,
  }
  const resolveHost = options.resolveHost ?? resolveHostWithDns
  const url =
    input.url === undefined && input.allowInsecure === undefined && input.allowLocal === undefined
      ? undefined
      : (await validateEndpointUrl(input.url ?? current.url, access, resolveHost)).toString()
  return await withTransaction(pool, async (client) => {
    const row = await findEndpoint(client, input.merchantId, input.endpointId, 'for update')
    if (row === undefined) throw webhookEndpointNotFound(input.endpointId)
    const updated = await updateEndpointSettings(
      client,
      row.id,
      {
        url: url ?? row.url,
        description: description ?? row.description,
        event_types: eventFilter === undefined ? row.event_types : filterToColumn(eventFilter),
        allow_insecure: access.insecure,
        allow_local: access.local,
        ...enablement(row, input.enabled, now),
      },
      now,
    )
    return toEndpoint(updated)
  })
}

/** Deletes an endpoint with its delivery history; jobs still queued for it find nothing and finish. */
export async function deleteEndpoint(
  db: Queryable,
  input: Readonly<{ merchantId: string; endpointId: string }>,
): Promise<void> {
  if (!(await deleteEndpointRow(db, input.merchantId, input.endpointId)))
    throw webhookEndpointNotFound(input.endpointId)
}

/**
 * Replaces the signing secret and returns the new one (shown once). For `overlapMs` (default one day) the
 * old secret keeps signing too, as a second signature in the same header, so receivers can switch without
 * dropping webhooks; overlapMs 0 retires it at once.
 */
export async function rotateSecret(
  pool: Pool,
  input: Readonly<{ merchantId: string; endpointId: string; overlapMs?: number }>,
  options: WebhookServiceOptions = {},
): Promise<EndpointWithSecret> {
  const overlapMs = input.overlapMs ?? webhookLimits.secretRotationOverlapMsDefault
  if (!Number.isInteger(overlapMs) || overlapMs < 0 || overlapMs > webhookLimits.secretRotationOverlapMsMax)
    throw webhookRotationOverlapInvalid()
  const now = clockOf(options)()
  const secret = generateWebhookSecret()
  return await withTransaction(pool, async (client) => {
    const row = await findEndpoint(client, input.merchantId, input.endpointId, 'for update')
    if (row === undefined) throw webhookEndpointNotFound(input.endpointId)
    const keepPrevious = overlapMs > 0
    const updated = await updateEndpointSecret(
      client,
      row.id,
      {
        secret,
        previousSecret: keepPrevious ? row.secret : null,
        previousSecretExpiresAt: keepPrevious ? new Date(now.getTime() + overlapMs) : null,
      },
      now,
    )
    return { endpoint: toEndpoint(updated), secret }
  })
}

const cursorPattern = /^whd_[0-9A-HJKMNP-TV-Z]{26}$/

/** A store's deliveries, newest first, filtered and paged (keyset: pass `nextCursor` back as `cursor`). */
export async function listDeliveries(db: Queryable, input: ListDeliveriesInput): Promise<DeliveryPage> {
  const limit = input.limit ?? limits.pageSizeDefault
  if (!Number.isInteger(limit) || limit < 1 || limit > limits.pageSizeMax)
    throw webhookPageInvalid(`limit must be an integer between 1 and ${limits.pageSizeMax}`)
  if (input.cursor !== undefined && !cursorPattern.test(input.cursor)) throw webhookCursorInvalid()
  // One extra row tells whether another page exists without a count query.
  const rows = await selectDeliveries(
    db,
    {
      merchantId: input.merchantId,
      ...(input.endpointId === undefined ? {} : { endpointId: input.endpointId }),
      ...(input.eventId === undefined ? {} : { eventId: input.eventId }),
      ...(input.status === undefined ? {} : { status: input.status }),
      ...(input.cursor === undefined ? {} : { before: input.cursor }),
    },
    limit + 1,
  )
  const deliveries = rows.slice(0, limit)
  const last = deliveries[deliveries.length - 1]
  return { deliveries, nextCursor: rows.length > limit && last !== undefined ? last.id : null }
}

/** One delivery with its latest attempts (newest first, at most attemptsListedMax). */
export async function getDelivery(
  db: Queryable,
  input: Readonly<{ merchantId: string; deliveryId: string }>,
): Promise<{ delivery: WebhookDelivery; attempts: DeliveryAttempt[] }> {
  const delivery = await findDelivery(db, input.merchantId, input.deliveryId)
  if (delivery === undefined) throw webhookDeliveryNotFound(input.deliveryId)
  return { delivery, attempts: await selectAttempts(db, delivery.id, webhookLimits.attemptsListedMax) }
}

/**
 * Sends a delivery again as a new attempt series (full retry schedule), with the same `webhook-id` (the
 * event id) so receivers that saw it before can recognise it. Works on delivered, dead and pending
 * deliveries (a pending one is retried now instead of at its scheduled time). The endpoint must be enabled.
 */
export async function redeliver(
  pool: Pool,
  input: Readonly<{ merchantId: string; deliveryId: string }>,
  options: WebhookServiceOptions = {},
): Promise<WebhookDelivery> {
  return await withTransaction(pool, async (client) => {
    const delivery = await findDelivery(client, input.merchantId, input.deliveryId, 'for update')
    if (delivery === undefined) throw webhookDeliveryNotFound(input.deliveryId)
    const endpoint = await findEndpoint(client, input.merchantId, delivery.endpointId)
    if (endpoint === undefined) throw webhookDeliveryNotFound(input.deliveryId)
    if (!endpoint.enabled) throw webhookEndpointDisabled(endpoint.id)
    if (delivery.series >= webhookLimits.seriesPerDeliveryMax)
      throw webhookRedeliveryLimitReached(delivery.id)
    const restarted = await restartDelivery(client, delivery.id, clockOf(options)())
    await enqueueDeliveryJob(client, restarted)
    return restarted
  })
}

/**
 * Sends a `webhook.test` event to one endpoint (whatever its filter), through the normal delivery path:
 * signed, retried, logged. Other endpoints and the event stream never see it.
 */
export async function sendTest(
  pool: Pool,
  input: Readonly<{ merchantId: string; endpointId: string }>,
  options: WebhookServiceOptions = {},
): Promise<{ eventId: string; delivery: WebhookDelivery }> {
  const now = clockOf(options)()
  return await withTransaction(pool, async (client) => {
    const endpoint = await findEndpoint(client, input.merchantId, input.endpointId)
    if (endpoint === undefined) throw webhookEndpointNotFound(input.endpointId)
    if (!endpoint.enabled) throw webhookEndpointDisabled(endpoint.id)
    const event = await recordTestEvent(client, {
      merchantId: input.merchantId,
      subjectId: endpoint.id,
      payload: { endpoint_id: endpoint.id, message: 'test webhook from Sluice', sent_at: now.toISOString() },
    })
    const [delivery] = await createDeliveries(
      client,
      { ...event, merchantId: input.merchantId },
      [endpoint.id],
      now,
    )
    assert(delivery !== undefined, 'a fresh test event produced no delivery')
    return { eventId: event.id, delivery }
  })
}
