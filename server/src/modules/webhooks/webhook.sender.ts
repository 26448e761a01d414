import { performance } from 'node:perf_hooks'
import { toWebhookEnvelope } from '../events/event.service.ts'
import type { StoredEvent } from '../events/event.types.ts'
import { webhookLimits } from './webhook.limits.ts'
import { webhookHeaders } from './webhook.signature.ts'
import type { ResolveHost } from './webhook.types.ts'
import { errorCode, refusalForAddresses, resolveUrlAddresses, splitCredentials } from './webhook.url.ts'

export type SendRequest = Readonly<{
  url: string
  allowInsecure: boolean
  /** Current secret first; a rotated-out secret still inside its overlap second. */
  secrets: readonly string[]
  event: Pick<StoredEvent, 'id' | 'type' | 'payload' | 'createdAt'>
  now: Date
}>

export type SendDeps = Readonly<{
  fetch: typeof fetch
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

/** Reads at most responseExcerptBytesMax of the body, then stops: a receiver cannot make us buffer more. */
async function readExcerpt(response: Response): Promise<string | null> {
  if (response.body === null) return null
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < webhookLimits.responseExcerptBytesMax) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  const bytes = Buffer.concat(chunks).subarray(0, webhookLimits.responseExcerptBytesMax)
  // A cut inside a multi-byte character decodes to U+FFFD: still valid text, never longer than the bytes.
  return bytes.length === 0 ? null : bytes.toString('utf8')
}

function describeFailure(error: unknown, timedOut: boolean): string {
  if (timedOut) return 'timeout'
  // fetch wraps the socket error: `TypeError: fetch failed` with the useful code in `cause`.
  const cause = (error as { cause?: unknown } | null)?.cause
  return (cause === undefined ? errorCode(error) : errorCode(cause)).slice(
    0,
    webhookLimits.attemptErrorLengthMax,
  )
}

/**
 * Sends one signed POST. The resolved addresses are checked again first (DNS may have changed since the
 * endpoint was saved); redirects are not followed. Never throws for receiver-side problems: they are
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
  const url = new URL(request.url)
  let refusal: string | undefined
  try {
    refusal = refusalForAddresses(
      url,
      await resolveUrlAddresses(url, deps.resolveHost),
      request.allowInsecure,
    )
  } catch (error) {
    return result({ statusCode: null, error: `dns: ${errorCode(error)}`, responseExcerpt: null })
  }
  if (refusal !== undefined)
    return result({ statusCode: null, error: `address-refused: ${refusal}`, responseExcerpt: null })
  const body = JSON.stringify(toWebhookEnvelope(request.event))
  const target = splitCredentials(url)
  const timeout = AbortSignal.timeout(deps.timeoutMs)
  try {
    const response = await deps.fetch(target.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.any([deps.signal, timeout]),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Sluice-Webhooks/1',
        ...(target.authorization === undefined ? {} : { authorization: target.authorization }),
        ...webhookHeaders({
          messageId: request.event.id,
          timestampSeconds: Math.floor(request.now.getTime() / 1000),
          body,
          secrets: request.secrets,
        }),
      },
    })
    const responseExcerpt = await readExcerpt(response).catch(() => null)
    return result({ statusCode: response.status, error: null, responseExcerpt })
  } catch (error) {
    return result({ statusCode: null, error: describeFailure(error, timeout.aborted), responseExcerpt: null })
  }
}
