import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { NetworkConfig } from '../../server/src/config/config.types.ts'
import { limits } from '../../server/src/config/limits.ts'
import { createPool } from '../../server/src/db/pool.ts'
import { buildApp } from '../../server/src/http/app.ts'
import { httpLimits } from '../../server/src/http/http.limits.ts'
import { createMetrics } from '../../server/src/http/metrics.ts'
import { createLogger } from '../../server/src/lib/logger.ts'
import { childControl, sendToParent } from './children.ts'
import { installQueryTracer } from './query-tracer.ts'

// One HTTP server of the invoice benchmark, in its own process (as the gateway's API role runs):
//   api      — the real API (buildApp) with one configured network, the per-key rate limit raised;
//   baseline — a bare Fastify route doing one INSERT into a scratch table.
// Both use createPool's production settings (limits.dbPoolSizeMax connections) and the same logger.
// Arguments: mode, database URL, log level, network JSON (api), "trace" to time every query.
const [mode, databaseUrl, logLevel, networkJson, trace] = process.argv.slice(2)
if (databaseUrl === undefined || (mode !== 'api' && mode !== 'baseline'))
  throw new Error('usage: server-child.ts api|baseline DATABASE_URL LOG_LEVEL [NETWORK_JSON] [trace]')
const tracer = trace === 'trace' ? installQueryTracer() : undefined
const pool = createPool(databaseUrl, { applicationName: `sluice-bench-${mode}` })
const logger = createLogger(logLevel ?? 'info')

async function startApi() {
  const networks = [JSON.parse(networkJson ?? '{}') as NetworkConfig]
  return await buildApp({
    pool,
    logger,
    metrics: createMetrics(),
    networks,
    // The default (20/s, burst 40 per key) would answer 429 to nearly everything: the benchmark measures
    // the request pipeline, not the limiter. The limiter still runs on every request.
    api: { rateLimit: { requestsPerSecond: 1e9, burst: 1e9, bucketsMax: httpLimits.rateLimitBucketsMax } },
  })
}

async function startBaseline() {
  const app = Fastify({ loggerInstance: logger, bodyLimit: limits.requestBodyBytesMax })
  app.post('/baseline', async (request, reply) => {
    const result = await pool.query<{ id: string; created_at: Date }>(
      'insert into bench_baseline (id, body) values ($1, $2) returning id, created_at',
      [randomUUID(), JSON.stringify(request.body)],
    )
    return await reply.status(201).send(result.rows[0])
  })
  await app.ready()
  return app
}

const app = mode === 'api' ? await startApi() : await startBaseline()
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const control = childControl(pool, () => tracer?.counters() ?? {})
await sendToParent({
  kind: 'ready',
  port: typeof address === 'object' && address !== null ? address.port : 0,
})
await control.stopped
await app.close()
await pool.end()
await control.finish({ queries: tracer?.report() ?? [] })
