import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { NetworkConfig } from '../config/config.types.ts'
import type { Queryable } from '../db/pool.ts'
import type { Logger } from '../lib/logger.ts'
import { getReconciliationStatuses } from '../modules/reconciliation/reconciliation.service.ts'

/** One registry per process role; exposed at GET /metrics. */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'sluice_' })
  const httpRequests = new Counter({
    name: 'sluice_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const httpDuration = new Histogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const batchedWriteRequests = new Histogram({
    name: 'sluice_batched_write_requests',
    help: 'Requests per batched one-statement write that committed, by operation (docs/adr/0028): the count is statements, the sum requests',
    labelNames: ['operation'] as const,
    buckets: [1, 2, 4, 8, 16, 32],
    registers: [registry],
  })
  const batchedWriteFailures = new Counter({
    name: 'sluice_batched_write_failures_total',
    help: 'Batched one-statement writes that failed as a whole, by operation; their requests ran again alone',
    labelNames: ['operation'] as const,
    registers: [registry],
  })
  return {
    registry,
    httpRequests,
    httpDuration,
    batchedWriteRequests,
    batchedWriteFailures,
    reconciliation: createReconciliationGauges(registry),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/**
 * Hot-wallet reconciliation (docs/adr/0027-chain-reconciliation.md). The checks run in a worker, which
 * serves no /metrics, so these are read from the database when /metrics is scraped
 * (refreshReconciliationGauges). No amount goes through a JS number: the drift itself is in the incident
 * events and the `reconciliation_checks` table, exact; the gauges carry only a flag, a sign and an age.
 */
function createReconciliationGauges(registry: Registry) {
  const labelNames = ['network', 'asset'] as const
  return {
    driftDetected: new Gauge({
      name: 'sluice_reconciliation_drift_detected',
      help: 'A reconciliation incident is open: the hot wallet at a finalized block has differed from its ledger account by the same drift for 3+ checks over 5+ minutes (1), or not (0)',
      labelNames,
      registers: [registry],
    }),
    driftSign: new Gauge({
      name: 'sluice_reconciliation_drift_sign',
      help: 'Sign of the latest successful check: 1 the chain holds more than the ledger says, -1 less, 0 equal (transient differences included)',
      labelNames,
      registers: [registry],
    }),
    lastCheckAge: new Gauge({
      name: 'sluice_reconciliation_last_check_age_seconds',
      help: 'Seconds since the latest successful reconciliation check of this asset (grows while checks fail or do not run)',
      labelNames,
      registers: [registry],
    }),
  }
}

/**
 * Sets the reconciliation gauges from the database, per configured network and asset. An asset never
 * checked successfully has no series (alert on absence as on age). A failed read leaves every series out
 * rather than stale (and is logged): the other metrics are still served.
 */
export async function refreshReconciliationGauges(
  metrics: Metrics,
  db: Queryable,
  networks: readonly NetworkConfig[],
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  const gauges = metrics.reconciliation
  const statuses = await getReconciliationStatuses(db, networks).catch((error: unknown) => {
    logger.warn({ err: error }, 'metrics: could not read the reconciliation state')
    return []
  })
  // Reset and set with no await between: two scrapes at once each serve a whole set, never one the other
  // half cleared.
  gauges.driftDetected.reset()
  gauges.driftSign.reset()
  gauges.lastCheckAge.reset()
  for (const status of statuses) {
    if (status.lastSuccessfulCheckAgeSeconds === null || status.lastDrift === null) continue
    const labels = { network: status.network, asset: status.assetId }
    gauges.driftDetected.set(labels, status.openIncident === undefined ? 0 : 1)
    gauges.driftSign.set(labels, status.lastDrift > 0n ? 1 : status.lastDrift < 0n ? -1 : 0)
    gauges.lastCheckAge.set(labels, status.lastSuccessfulCheckAgeSeconds)
  }
}
