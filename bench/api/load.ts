import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'
import { percentile } from './setup.ts'

export type LoadResult = {
  seconds: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCounts: Record<string, number>
  /** 2xx responses per second of the run. */
  okPerSecond: number
  /** Over every response (any status), ms. */
  p50Ms: number
  p99Ms: number
  maxMs: number
}

export type LoadOptions = {
  url: string
  path: string
  headers: Record<string, string>
  body: string
  connections: number
  durationSeconds: number
  /** Count bound next to the time bound (autocannon maxOverallRequests). */
  requestsMax: number
}

/**
 * autocannon against one route: a POST with a fresh Idempotency-Key per request (setupRequest), run in
 * this process (the servers run in their own). Latencies are taken from every response event (ms, float).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const started = performance.now()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        maxOverallRequests: options.requestsMax,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: options.path,
            headers: { ...options.headers, 'content-type': 'application/json' },
            body: options.body,
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, 'idempotency-key': randomUUID() },
            }),
          },
        ],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    )
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (latencies.length < options.requestsMax) latencies.push(responseTime)
    })
  })
  const seconds = (performance.now() - started) / 1000
  const statusCounts: Record<string, number> = {}
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCounts[status] = stat.count ?? 0
  return {
    seconds,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCounts,
    okPerSecond: result['2xx'] / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.reduce((max, value) => Math.max(max, value), 0),
  }
}
