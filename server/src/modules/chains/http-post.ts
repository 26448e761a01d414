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

/** POSTs `body` as JSON to `url`; rejects on a transport error or after `timeoutMs` for the whole exchange. */
export function postJson(url: string, body: string, timeoutMs: number): Promise<PostAnswer> {
  const target = new URL(url)
  const client = target.protocol === 'https:' ? https : http
  const agent = target.protocol === 'https:' ? agents['https:'] : agents['http:']
  return new Promise<PostAnswer>((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
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
    request.on('error', reject)
    request.end(body)
  })
}
