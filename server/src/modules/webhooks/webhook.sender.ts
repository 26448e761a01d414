import { performance } from 'node:perf_hooks'
import { toWebhookEnvelope } from '../events/event.service.ts'
import type { StoredEvent } from '../events/event.types.ts'
import { webhookLimits } from './webhook.limits.ts'
import type { WebhookPost } from './webhook.post.ts'
import { webhookHeaders } from './webhook.signature.ts'
import type { ResolveHost } from './webhook.types.ts'
import {
  type EndpointAccess,
  errorCode,
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

/** What one POST produced: a status (any), or an error code when no response arrived. */
export type SendResult = Readonly<{
  startedAt: Date
  durationMs: number
  statusCode: number | null
  error: string | null
  responseExcerpt: string | null
}>

function describeFailure(error: unknown): string {
  const code = errorCode(error)
  return (code === 'ETIMEDOUT' ? 'timeout' : code).slice(0, webhookLimits.attemptErrorLengthMax)
}

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
 * Sends one signed POST. The resolved addresses are checked again first (DNS may have changed since the
 * endpoint was saved) and the request goes to the first of them, not to a fresh resolution
 * (webhook.post.ts); redirects are not followed. Never throws for receiver-side problems: they are
 * results, logged as attempts.
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
  let addresses: readonly string[]
  try {
    addresses = await resolveUrlAddresses(url, deps.resolveHost)
  } catch (error) {
    return result({ statusCode: null, error: `dns: ${errorCode(error)}`, responseExcerpt: null })
  }
  const refusal = refusalForAddresses(url, addresses, request.access)
  if (refusal !== undefined)
    return result({ statusCode: null, error: `address-refused: ${refusal}`, responseExcerpt: null })
  const address = addresses[0]
  if (address === undefined)
    return result({ statusCode: null, error: 'dns: ENOTFOUND', responseExcerpt: null })
  const body = JSON.stringify(toWebhookEnvelope(request.event))
  try {
    const response = await deps.post({
      url: target,
      address,
      body,
      timeoutMs: deps.timeoutMs,
      signal: deps.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Sluice-Webhooks/1',
        ...(authorization === undefined ? {} : { authorization }),
        ...webhookHeaders({
          messageId: request.event.id,
          timestampSeconds: Math.floor(request.now.getTime() / 1000),
          body,
          secrets: request.secrets,
        }),
      },
    })
    return result({ statusCode: response.statusCode, error: null, responseExcerpt: response.responseExcerpt })
  } catch (error) {
    return result({ statusCode: null, error: describeFailure(error), responseExcerpt: null })
  }
}
