import http from 'node:http'
import https from 'node:https'

/**
 * JSON-RPC's transport: one POST over node:http(s) with keep-alive connections, answering with the status
 * and the body's bytes. Not fetch: a catch-up range's eth_getLogs answer is ~12 MB, and undici's stream
 * and body plumbing took about twice the CPU of node:http for the same bytes (measured on the deposits
 * bench: ~275 vs ~135 ms per 126 MB), on a watcher whose catch-up is CPU-bound.
 */
/**
 * An idle kept-alive connection is closed after this long (fetch's default too), and sooner if the server
 * hints a shorter keep-alive: a connection the server already dropped is not reused.
 */
const idleConnectionMs = 4_000
const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: idleConnectionMs }),
  'https:': new https.Agent({ keepAlive: true, timeout: idleConnectionMs }),
}

export type PostAnswer = { status: number; bytes: Buffer }

/** A kept-alive connection the server had already closed when the request went out on it. */
class StaleConnectionError extends Error {}

/**
 * POSTs `body` as JSON to `url`; rejects on a transport error or after `timeoutMs` for the whole exchange.
 * A request that went out on a kept-alive connection the server had just closed (ECONNRESET or EPIPE before
 * any answer) is sent once more on a new one, within the same deadline: a node's restart or idle close is
 * not the node failing (EvmRpc would fail over), and JSON-RPC calls are safe to resend (reads; a resent raw
 * transaction is answered "already known").
 */
export async function postJson(url: string, body: string, timeoutMs: number): Promise<PostAnswer> {
  const target = new URL(url)
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    return await postOnce(target, body, signal)
  } catch (error) {
    if (!(error instanceof StaleConnectionError)) throw error
    return await postOnce(target, body, signal)
  }
}

function postOnce(target: URL, body: string, signal: AbortSignal): Promise<PostAnswer> {
  const client = target.protocol === 'https:' ? https : http
  const agent = target.protocol === 'https:' ? agents['https:'] : agents['http:']
  return new Promise<PostAnswer>((resolve, reject) => {
    let answered = false
    const request = client.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        signal,
      },
      (response) => {
        answered = true
        const chunks: Buffer[] = []
        let lengthBytes = 0
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk)
          lengthBytes += chunk.length
        })
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, bytes: Buffer.concat(chunks, lengthBytes) }),
        )
        response.on('error', reject)
        // A connection closed (or a timeout hit) mid-answer: never hand on part of an answer.
        response.on('close', () => {
          if (!response.complete) reject(new Error(`the answer from ${target.host} was cut short`))
        })
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => {
      const stale =
        request.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE')
      reject(stale ? new StaleConnectionError(`a kept-alive connection to ${target.host} was closed`) : error)
    })
    request.end(body)
  })
}
