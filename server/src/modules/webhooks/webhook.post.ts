import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { webhookLimits } from './webhook.limits.ts'

/**
 * One webhook POST over node:http/https with kept-alive connections, to an address the caller has
 * already vetted. Two reasons over fetch(): the connection goes to the address that passed the SSRF
 * check (fetch resolves the name again, so a DNS answer that changed in between — rebinding — could
 * point it at an internal host); and fetch's Request/Response/stream objects cost ~a quarter of a
 * worker's CPU per delivery (`npm run bench -- api`, CPU profile). Redirects are never followed.
 */

export type PostRequest = Readonly<{
  /** Without credentials (they travel in `headers.authorization`). */
  url: URL
  /** Addresses `url`'s host resolved to and that passed the SSRF check; the first is used. */
  address: string
  headers: Readonly<Record<string, string>>
  body: string
  timeoutMs: number
  signal: AbortSignal
}>

export type PostResult = Readonly<{ statusCode: number; responseExcerpt: string | null }>

/** Sends the POST; rejects with an error carrying `code` (ETIMEDOUT on timeout) when no response came. */
export type WebhookPost = (request: PostRequest) => Promise<PostResult>

// Per worker process: connections to a receiver are reused across deliveries (the per-endpoint gate
// bounds how many are open). Idle ones close after a few seconds, before a typical server's own timeout.
const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, timeout: 5_000, scheduling: 'lifo' as const }
const httpAgent = new http.Agent(agentOptions)
const httpsAgent = new https.Agent(agentOptions)

export const postWebhook: WebhookPost = (request) =>
  new Promise<PostResult>((resolve, reject) => {
    const secure = request.url.protocol === 'https:'
    const hostname = request.url.hostname.replace(/^\[|\]$/g, '')
    const outgoing = (secure ? https : http).request({
      method: 'POST',
      protocol: request.url.protocol,
      host: hostname,
      port: request.url.port === '' ? (secure ? 443 : 80) : Number.parseInt(request.url.port, 10),
      path: `${request.url.pathname}${request.url.search}`,
      agent: secure ? httpsAgent : httpAgent,
      // The vetted address, whatever DNS says now; TLS still checks the certificate against the name.
      lookup: (_name, options, callback) => pinnedLookup(request.address, options, callback),
      ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
      headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
      signal: request.signal,
    })
    // One deadline for the whole exchange (connect, send, response and excerpt), not per socket idle.
    const timer = setTimeout(() => outgoing.destroy(timeoutError()), request.timeoutMs)
    outgoing.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    outgoing.on('response', (response) => {
      readExcerpt(response).then(
        (responseExcerpt) => {
          clearTimeout(timer)
          resolve({ statusCode: response.statusCode ?? 0, responseExcerpt })
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
    outgoing.end(request.body)
  })

function timeoutError(): Error {
  return Object.assign(new Error('webhook request timed out'), { code: 'ETIMEDOUT' })
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void

function pinnedLookup(
  address: string,
  options: { all?: boolean | undefined },
  callback: LookupCallback,
): void {
  const family = isIP(address) === 6 ? 6 : 4
  if (options.all === true) callback(null, [{ address, family }])
  else callback(null, address, family)
}

/**
 * Reads at most responseExcerptBytesMax of the body, then drops the connection's remainder: a receiver
 * cannot make us buffer more. A body read to its end leaves the connection reusable.
 */
async function readExcerpt(response: http.IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response) {
    if (size < webhookLimits.responseExcerptBytesMax) chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
    if (size > webhookLimits.responseExcerptBytesMax * 4) {
      response.destroy()
      break
    }
  }
  const bytes = Buffer.concat(chunks).subarray(0, webhookLimits.responseExcerptBytesMax)
  // A cut inside a multi-byte character decodes to U+FFFD: still valid text, never longer than the bytes.
  return bytes.length === 0 ? null : bytes.toString('utf8')
}
