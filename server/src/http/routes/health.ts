import type { FastifyInstance } from 'fastify'
import { pendingMigrations } from '../../db/migrate.ts'
import { listHaltedNetworks } from '../../modules/chains/chain.service.ts'
import { probeNetwork } from '../../modules/chains/rpc-health.ts'
import type { AppDependencies } from '../app.ts'
import { refreshReconciliationGauges } from '../metrics.ts'

type CheckResult = { healthy: boolean; problem?: string }

async function checkDatabase(
  dependencies: AppDependencies,
): Promise<CheckResult & { pendingMigrations?: number[] }> {
  try {
    const pending = await pendingMigrations(dependencies.pool)
    return pending.length === 0
      ? { healthy: true }
      : { healthy: false, problem: 'migrations pending', pendingMigrations: pending }
  } catch (error) {
    // /readyz answers anyone who can reach the port: the driver's message (`connect ECONNREFUSED
    // 10.0.0.3:5432`, a host name, a role) describes the operator's network, so it goes to the log only.
    dependencies.logger.warn({ err: error }, 'readiness: the database is unreachable')
    return { healthy: false, problem: 'database unreachable' }
  }
}

/** Liveness, readiness (database, migrations, every network's head) and Prometheus metrics. */
export function registerHealthRoutes(app: FastifyInstance, dependencies: AppDependencies): void {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'alive' }))

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const [database, probed] = await Promise.all([
      checkDatabase(dependencies),
      Promise.all(dependencies.networks.map((network) => probeNetwork(network))),
    ])
    // A network whose crediting is halted (reorg deeper than finality) is an alert, never silent.
    const halted = database.healthy ? await listHaltedNetworks(dependencies.pool) : []
    const networks = probed.map((network) => {
      const halt = halted.find((entry) => entry.network === network.network)
      return halt === undefined ? network : { ...network, healthy: false, creditingHalted: halt.reason }
    })
    const ready = database.healthy && networks.every((network) => network.healthy)
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', database, networks })
  })

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    await refreshReconciliationGauges(
      dependencies.metrics,
      dependencies.pool,
      dependencies.networks,
      dependencies.logger,
    )
    const body = await dependencies.metrics.registry.metrics()
    return reply.type(dependencies.metrics.registry.contentType).send(body)
  })
}
