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
 *
 * The socket is opened to the IP address itself, never to the name: kept-alive connections are pooled by
 * host, so a pool keyed by the name would hand a socket opened to an address checked earlier (or for
 * another endpoint with the same host and other rights, e.g. `allow_local`) to a request whose check
 * found a different one. The name still travels where the receiver and TLS need it: the Host header, SNI,
 * and the certificate check.
 */

export type PostRequest = Readonly<{
  /** Without credentials (they travel in `headers.authorization`). */
  url: URL
  /** An address `url`'s host resolved to that passed the SSRF check: the only one connected to. */
  address: string
  headers: Readonly<Record<string, string>>
  body: string
  timeoutMs: number
  signal: AbortSignal
}>

export type PostResult = Readonly<{ statusCode: number; responseExcerpt: string | null }>

/** Sends the POST; rejects with an error carrying `code` (ETIMEDOUT on timeout) when no response came. */
export type WebhookPost = (request: PostRequest) => Promise<PostResult>

/** Options of a post; production uses none. */
export type WebhookPostOptions = Readonly<{
  /** Certificate authorities to trust instead of the system's (tests with their own CA). */
  ca?: string
}>

// Connections to a receiver are reused across deliveries (the per-endpoint gate bounds how many are
// open). Idle ones close after a few seconds, before a typical server's own timeout.
const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, timeout: 5_000, scheduling: 'lifo' as const }

/** A post with its own connection pools (one per worker process in production: `postWebhook`). */
export function createWebhookPost(options: WebhookPostOptions = {}): WebhookPost {
  const httpAgent = new http.Agent(agentOptions)
  const httpsAgent = new https.Agent({
    ...agentOptions,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  })
  return (request) => sendPost(request, request.url.protocol === 'https:' ? httpsAgent : httpAgent)
}

/** The worker's post: system CAs, one pool per process. */
export const postWebhook: WebhookPost = createWebhookPost()

function sendPost(request: PostRequest, agent: http.Agent): Promise<PostResult> {
  return new Promise<PostResult>((resolve, reject) => {
    const secure = request.url.protocol === 'https:'
    const hostname = request.url.hostname.replace(/^\[|\]$/g, '')
    const outgoing = (secure ? https : http).request({
      method: 'POST',
      protocol: request.url.protocol,
      // The vetted address, whatever DNS says now: a literal IP is connected to without any lookup, and
      // keys the agent's pool (see above). `lookup` only guards against a lookup all the same.
      host: request.address,
      port: request.url.port === '' ? (secure ? 443 : 80) : Number.parseInt(request.url.port, 10),
      path: `${request.url.pathname}${request.url.search}`,
      agent,
      lookup: (_name, options, callback) => pinnedLookup(request.address, options, callback),
      // SNI and the certificate check use the name (an IP literal has no SNI and is checked as itself).
      ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
      headers: {
        ...request.headers,
        host: request.url.host,
        'content-length': String(Buffer.byteLength(request.body)),
      },
    })
    const untrack = abortWith(request.signal, outgoing)
    // One deadline for the whole exchange (connect, send, response and excerpt), not per socket idle.
    const timer = setTimeout(() => outgoing.destroy(timeoutError()), request.timeoutMs)
    const settle = () => {
      clearTimeout(timer)
      untrack()
    }
    outgoing.on('error', (error) => {
      settle()
      reject(error)
    })
    outgoing.on('response', (response) => {
      readExcerpt(response, (error, responseExcerpt) => {
        settle()
        if (error === undefined) resolve({ statusCode: response.statusCode ?? 0, responseExcerpt })
        else reject(error)
      })
    })
    outgoing.end(request.body)
  })
}

/**
 * Requests in flight per abort signal. A worker's attempts share one signal (its stop), and a listener per
 * request cost ~5 % of a worker's CPU per delivery, and warned of a leak past 10 listeners (profiled).
 */
const inFlightBySignal = new WeakMap<AbortSignal, Set<http.ClientRequest>>()

/** Destroys `outgoing` when `signal` aborts, as http.request's own `signal` option does; returns an untrack. */
function abortWith(signal: AbortSignal, outgoing: http.ClientRequest): () => void {
  if (signal.aborted) {
    outgoing.destroy(abortError())
    return () => {}
  }
  let inFlight = inFlightBySignal.get(signal)
  if (inFlight === undefined) {
    const requests = new Set<http.ClientRequest>()
    signal.addEventListener(
      'abort',
      () => {
        for (const request of requests) request.destroy(abortError())
        requests.clear()
      },
      { once: true },
    )
    inFlightBySignal.set(signal, requests)
    inFlight = requests
  }
  const tracked = inFlight
  tracked.add(outgoing)
  return () => tracked.delete(outgoing)
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' })
}

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
 * cannot make us buffer more. A body read to its end leaves the connection reusable. Events rather than
 * `for await`: the async iterator cost more than the rest of reading a typical empty body.
 */
function readExcerpt(
  response: http.IncomingMessage,
  done: (error: unknown, excerpt: string | null) => void,
): void {
  const chunks: Buffer[] = []
  let size = 0
  let finished = false
  const finish = (error: unknown) => {
    if (finished) return
    finished = true
    const bytes = Buffer.concat(chunks).subarray(0, webhookLimits.responseExcerptBytesMax)
    // A cut inside a multi-byte character decodes to U+FFFD: still valid text, never longer than the bytes.
    done(error, bytes.length === 0 ? null : bytes.toString('utf8'))
  }
  response.on('data', (chunk: Buffer) => {
    if (size < webhookLimits.responseExcerptBytesMax) chunks.push(chunk)
    size += chunk.length
    if (size > webhookLimits.responseExcerptBytesMax * 4) {
      finish(undefined)
      response.destroy()
    }
  })
  response.on('end', () => finish(undefined))
  response.on('error', (error) => finish(error))
  // Destroyed before its end (the socket dropped): no 'end' comes.
  response.on('close', () => finish(response.complete ? undefined : prematureClose()))
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}
