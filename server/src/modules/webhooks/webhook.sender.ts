import { performance } from 'node:perf_hooks'
import { toWebhookEnvelope } from '../events/event.service.ts'
import type { StoredEvent } from '../events/event.types.ts'
import { type DeliveryError, deliveryErrorOf, failureCause } from './webhook.failures.ts'
import type { WebhookPost } from './webhook.post.ts'
import { webhookHeaders } from './webhook.signature.ts'
import type { ResolveHost } from './webhook.types.ts'
import {
  type EndpointAccess,
  refusalForAddresses,
  resolveUrlAddresses,
  splitCredentials,
} from './webhook.url.ts'

export type SendRequest = Readonly<{
  url: string
  access: EndpointAccess
  /** Current secret first; a rotated-out secret still inside its overlap second. */
  secrets: readonly string[]
  event: Pick<StoredEvent, 'id' | 'type' | 'payload' | 'createdAt'>
  now: Date
}>

export type SendDeps = Readonly<{
  post: WebhookPost
  resolveHost: ResolveHost
  timeoutMs: number
  signal: AbortSignal
}>

/**
 * What one POST produced: a status (any), or the class of why no response arrived. `cause` is for the
 * operator's log only, never stored or shown to the store (webhook.failures.ts).
 */
export type SendResult = Readonly<{
  startedAt: Date
  durationMs: number
  statusCode: number | null
  error: DeliveryError | null
  responseExcerpt: string | null
  cause?: Readonly<{ code: string; message: string }>
}>

type ParsedTarget = Readonly<{ url: URL; target: URL; authorization: string | undefined }>

/**
 * Endpoint URLs already parsed: a worker POSTs to the same few endpoints over and over, and parsing
 * each URL three times per POST showed in its profile. Bounded: cleared when full. Never mutated.
 */
const parsedTargets = new Map<string, ParsedTarget>()
const parsedTargetsMax = 1_024

function parsedTarget(text: string): ParsedTarget {
  const cached = parsedTargets.get(text)
  if (cached !== undefined) return cached
  const url = new URL(text)
  const split = splitCredentials(url)
  const parsed = { url, target: new URL(split.url), authorization: split.authorization }
  if (parsedTargets.size >= parsedTargetsMax) parsedTargets.clear()
  parsedTargets.set(text, parsed)
  return parsed
}

/**
 * Sends one signed POST. The host is resolved once, every address is checked again (DNS may have changed
 * since the endpoint was saved), and the request connects to the first of them, never to a fresh
 * resolution (webhook.post.ts); redirects are not followed. Never throws for receiver-side problems:
 * they are results, logged as attempts with a class of webhook.failures.ts.
 */
export async function sendWebhook(request: SendRequest, deps: SendDeps): Promise<SendResult> {
  const startedAt = request.now
  const started = performance.now()
  const result = (partial: Omit<SendResult, 'startedAt' | 'durationMs'>): SendResult => ({
    startedAt,
    durationMs: Math.round(performance.now() - started),
    ...partial,
  })
  const { url, target, authorization } = parsedTarget(request.url)
  const failed = (error: DeliveryError, cause: NonNullable<SendResult['cause']>) =>
    result({ statusCode: null, error, responseExcerpt: null, cause })
  // A store's endpoint (neither local nor insecure) is told `address-refused` whether its host does not
  // resolve or resolves where webhooks may not go: told apart, a store could point its name at internal
  // names (a CNAME) and map which ones the gateway's DNS knows from its delivery log (review, 2026-11-22),
  // as registration answers alike (webhook.url.ts). The operator's log keeps the resolver's code.
  const unresolved: DeliveryError =
    request.access.insecure || request.access.local ? 'dns-failed' : 'address-refused'
  let addresses: readonly string[]
  try {
    addresses = await resolveUrlAddresses(url, deps.resolveHost)
  } catch (error) {
    return failed(unresolved, failureCause(error))
  }
  const address = addresses[0]
  if (address === undefined) return failed(unresolved, { code: 'ENODATA', message: 'no address' })
  // Every address is checked, and only the first is connected to (webhook.post.ts): nothing else.
  const refusal = refusalForAddresses(url, addresses, request.access)
  if (refusal !== undefined) return failed('address-refused', { code: 'address-refused', message: refusal })
  const body = JSON.stringify(toWebhookEnvelope(request.event))
  // Built outside the try: a malformed stored secret is a bug that fails the attempt loudly, not a
  // receiver's failure.
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Sluice-Webhooks/1',
    ...(authorization === undefined ? {} : { authorization }),
    ...webhookHeaders({
      messageId: request.event.id,
      timestampSeconds: Math.floor(request.now.getTime() / 1000),
      body,
      secrets: request.secrets,
    }),
  }
  try {
    const response = await deps.post({
      url: target,
      address,
      body,
      timeoutMs: deps.timeoutMs,
      signal: deps.signal,
      headers,
    })
    return result({ statusCode: response.statusCode, error: null, responseExcerpt: response.responseExcerpt })
  } catch (error) {
    return failed(deliveryErrorOf(error), failureCause(error))
  }
}
