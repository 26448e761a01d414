import { performance } from 'node:perf_hooks'
import { limits } from '../../server/src/config/limits.ts'
import { createPool } from '../../server/src/db/pool.ts'
import { createDeliverWebhookHandler } from '../../server/src/jobs/deliver-webhook.ts'
import { depositAddressPoolHandlers } from '../../server/src/jobs/deposit-address-pool.ts'
import { createDispatchEventHandler } from '../../server/src/jobs/dispatch-event.ts'
import { batchedJobHandler, type JobHandler, JobRunner } from '../../server/src/jobs/runner.ts'
import { createLogger } from '../../server/src/lib/logger.ts'
import { dispatchEventJobKind } from '../../server/src/modules/events/event.service.ts'
import { deliverWebhookJobKind } from '../../server/src/modules/webhooks/webhook-dispatch.service.ts'
import { childControl } from './children.ts'
import { installQueryTracer } from './query-tracer.ts'

// One worker of the webhook and invoice benchmarks, in its own process (as the gateway's worker role runs): a
// JobRunner with the dispatch-event, deliver-webhook and deposit-address-pool handlers (no NATS), a
// production-sized pool. Each handler is
// timed (handler body only: the runner's claim and delete are outside; a batch as a whole). Arguments: database URL, runner
// name, log level, "trace" to time every query.
const [databaseUrl, name, logLevel, trace] = process.argv.slice(2)
if (databaseUrl === undefined) throw new Error('usage: runner-child.ts DATABASE_URL NAME LOG_LEVEL [trace]')
const tracer = trace === 'trace' ? installQueryTracer() : undefined
const pool = createPool(databaseUrl, { applicationName: `sluice-bench-${name ?? 'runner'}` })
const logger = createLogger(logLevel ?? 'info')
const handled: Record<string, number> = {}

function count(kind: string, jobs: number, started: number): void {
  handled[`${kind} jobs`] = (handled[`${kind} jobs`] ?? 0) + jobs
  handled[`${kind} ms`] = (handled[`${kind} ms`] ?? 0) + performance.now() - started
}

/** Times each handler call; a batched kind is timed per batch (and counts its batches). */
function timed(kind: string, handler: JobHandler): JobHandler {
  const batch = handler.batch
  if (batch === undefined)
    return async (job, signal) => {
      const started = performance.now()
      try {
        await handler(job, signal)
      } finally {
        count(kind, 1, started)
      }
    }
  return batchedJobHandler({
    ...batch,
    handle: async (jobs, signal) => {
      const started = performance.now()
      try {
        return await batch.handle(jobs, signal)
      } finally {
        count(kind, jobs.length, started)
        handled[`${kind} batches`] = (handled[`${kind} batches`] ?? 0) + 1
      }
    },
  })
}

let fatal: unknown
const runner = new JobRunner({
  pool,
  handlers: new Map([
    [
      dispatchEventJobKind,
      // As the gateway's worker (jobs/handlers.ts): the dispatcher makes each first attempt itself.
      timed(
        dispatchEventJobKind,
        createDispatchEventHandler({ pool, logger, inlineDelivery: { pool, logger } }),
      ),
    ],
    [deliverWebhookJobKind, timed(deliverWebhookJobKind, createDeliverWebhookHandler({ pool, logger }))],
    // The invoice benchmark's worker: keeps the deposit address pool topped up, as the gateway's does.
    ...depositAddressPoolHandlers(pool).map(([kind, handler]): [string, JobHandler] => [
      kind,
      timed(kind, handler),
    ]),
  ]),
  log: logger,
  onFatal: (error) => {
    fatal = error
    logger.fatal({ err: error }, 'assertion failed in a job')
  },
})
const control = childControl(pool, () => ({ ...handled, ...(tracer?.counters() ?? {}) }))
await runner.start()
process.send?.({ kind: 'ready' })
await control.stopped
await runner.stop()
await pool.end()
await control.finish({
  concurrencyMax: limits.jobConcurrencyMax,
  fatal: fatal === undefined ? null : String(fatal),
  queries: tracer?.report() ?? [],
})
