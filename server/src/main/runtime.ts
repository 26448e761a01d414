import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Config, NetworkConfig } from '../config/config.types.ts'
import { assertLimitRelations } from '../config/limits.ts'
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../db/embedded.ts'
import { migrate } from '../db/migrate.ts'
import { createPool, type Pool } from '../db/pool.ts'
import { readDevnetNetworks, startDevnet } from '../devnet/devnet.ts'
import { buildApp } from '../http/app.ts'
import { deleteExpiredIdempotencyKeys } from '../http/idempotency.ts'
import { createMetrics } from '../http/metrics.ts'
import { ChainWatcher } from '../jobs/chain-watcher.ts'
import { jobHandlers } from '../jobs/handlers.ts'
import { type JobHandler, JobRunner } from '../jobs/runner.ts'
import { JobScheduler } from '../jobs/scheduler.ts'
import { schedulePayouts } from '../jobs/send-payouts.ts'
import { scheduleSweeps } from '../jobs/sweep-deposits.ts'
import { createLogger, type Logger } from '../lib/logger.ts'
import { addressDerivationEngine } from '../modules/keys/key.service.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { resolveOperatorStores } from '../modules/merchants/merchant.service.ts'
import { recordGatewayHotWallet } from '../modules/sweeps/sweep.service.ts'
import { bootstrapDevnet } from './devnet-bootstrap.ts'
import { acquireInstanceLock, InstanceLockedError } from './instance-lock.ts'
import { configuredMasterKeyProvider, MasterKeyMissingError } from './master-key.ts'

export type Role = 'all-in-one' | 'api' | 'worker' | 'migrate'

export type Runtime = {
  config: Config
  logger: Logger
  pool: Pool
  networks: readonly NetworkConfig[]
  /** True when this process started the devnet chains (and so owns them). */
  devnetStarted: boolean
  apiUrl: string | undefined
  /** The devnet's demo merchant and its API key (devnet only). */
  demo: { merchantId: string; apiKey: string } | undefined
  shutdown: () => Promise<void>
}

type Closer = { name: string; close: () => Promise<void> }

export class StartupError extends Error {
  override readonly name = 'StartupError'
}

async function openDatabase(config: Config, role: Role, logger: Logger, closers: Closer[]): Promise<string> {
  if (config.databaseUrl !== undefined) return config.databaseUrl
  if (role === 'api' || role === 'worker') {
    throw new StartupError(
      `the ${role} role needs DATABASE_URL: separate processes cannot share an embedded database`,
    )
  }
  // `npm run migrate` next to a running gateway shares its server; a gateway owns its data directory.
  const shareRunning = role === 'migrate'
  if (!shareRunning) {
    try {
      const release = acquireInstanceLock(config.dataDir)
      closers.push({ name: 'instance lock', close: async () => release() })
    } catch (error) {
      if (error instanceof InstanceLockedError) throw new StartupError(error.message)
      throw error
    }
  }
  const embedded: EmbeddedDatabase = await startEmbeddedDatabase(join(config.dataDir, 'postgres'), {
    log: (line) => logger.debug({ component: 'postgres' }, line.trim()),
    shareRunning,
  })
  closers.push({ name: 'embedded postgres', close: embedded.stop })
  return embedded.url
}

async function resolveNetworks(
  config: Config,
  role: Role,
  closers: Closer[],
): Promise<{ networks: readonly NetworkConfig[]; devnetStarted: boolean }> {
  if (config.networks.length > 0) return { networks: config.networks, devnetStarted: false }
  if (role === 'all-in-one') {
    const devnet = await startDevnet(config.devnet, config.dataDir)
    closers.push({ name: 'devnet chains', close: devnet.stop })
    return { networks: devnet.networks, devnetStarted: true }
  }
  const generated = readDevnetNetworks(config.dataDir)
  if (generated === undefined)
    throw new StartupError(
      'no networks configured and no running devnet: configure networks or use npm start',
    )
  return { networks: generated, devnetStarted: false }
}

/**
 * Starts a process role. Everything opened is closed in reverse order by shutdown(), which drains first:
 * the HTTP server stops accepting and finishes in-flight requests, the job runner finishes its jobs.
 */
export async function startRuntime(config: Config, role: Role): Promise<Runtime> {
  assertLimitRelations()
  mkdirSync(config.dataDir, { recursive: true })
  const logger = createLogger(config.logLevel)
  const closers: Closer[] = []
  const shutdown = async () => {
    for (const closer of closers.reverse()) {
      const started = Date.now()
      await closer
        .close()
        .catch((error: unknown) => logger.error({ err: error, component: closer.name }, 'close failed'))
      logger.info({ component: closer.name, ms: Date.now() - started }, 'closed')
    }
    closers.length = 0
  }
  try {
    const databaseUrl = await openDatabase(config, role, logger, closers)
    const pool = createPool(databaseUrl, { applicationName: `sluice-${role}` })
    closers.push({ name: 'database pool', close: () => pool.end() })
    const applied = await migrate(pool)
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied')
    const derivation = addressDerivationEngine()
    if (derivation.fallbackReason === undefined)
      logger.info({ engine: derivation.engine }, 'deposit address derivation')
    else
      logger.warn(
        { engine: derivation.engine, reason: derivation.fallbackReason },
        'deposit address derivation: libsecp256k1 did not load; @noble/curves costs ~4x the CPU per address',
      )
    if (role === 'migrate') {
      return {
        config,
        logger,
        pool,
        networks: [],
        devnetStarted: false,
        apiUrl: undefined,
        demo: undefined,
        shutdown,
      }
    }
    const resolved = await resolveNetworks(config, role, closers)
    const devnetStarted = resolved.devnetStarted
    const devnet = devnetStarted ? await bootstrapDevnet(pool, config, resolved.networks, logger) : undefined
    // On the devnet the bootstrap deploys BatchTransfer and returns the networks with its address.
    const networks = devnet?.networks ?? resolved.networks
    const apiUrl =
      role === 'worker'
        ? undefined
        : await startApi(
            config,
            { pool, logger, networks, operatorStores: await operatorStoresOf(config, pool, logger) },
            closers,
          )
    if (role !== 'api') {
      const masterKeyProvider = devnet?.masterKeyProvider ?? (await signerKeyProvider(config, logger))
      await startWorker(
        { pool, logger, networks, natsUrl: config.natsUrl, rates: config.rates, masterKeyProvider },
        closers,
      )
    }
    return { config, logger, pool, networks, devnetStarted, apiUrl, demo: devnet?.demo, shutdown }
  } catch (error) {
    await shutdown()
    throw error
  }
}

/**
 * Config `operatorStores`, checked against the database (docs/adr/0026-operator-store.md): an unknown
 * store stops the start, since the treasury would otherwise be left to no one. Unset on a devnet (no
 * networks configured): the demo store, which the bootstrap has just made.
 */
async function operatorStoresOf(config: Config, pool: Pool, logger: Logger): Promise<readonly string[]> {
  const resolved = await resolveOperatorStores(pool, {
    configured: config.operatorStores,
    devnet: config.networks.length === 0,
  })
  if (resolved.unknown.length > 0)
    throw new StartupError(
      `operatorStores: no store ${resolved.unknown.join(', ')} in this database (a typo, or the wrong ` +
        'database): the treasury would be left to no one',
    )
  if (resolved.stores.size === 0)
    logger.info('no operator store (config operatorStores): no store sees or decides the treasury')
  return [...resolved.stores]
}

async function startApi(
  config: Config,
  parts: {
    pool: Pool
    logger: Logger
    networks: readonly NetworkConfig[]
    operatorStores: readonly string[]
  },
  closers: Closer[],
): Promise<string> {
  const { operatorStores, ...appParts } = parts
  const app: FastifyInstance = await buildApp({
    ...appParts,
    rates: config.rates,
    trustedProxies: config.trustedProxies,
    metrics: createMetrics(),
    api: {
      // Local receivers by default only on a devnet (no networks configured): ADR 0010.
      webhookLocalEndpoints: config.webhooks.allowLocalEndpoints ?? config.networks.length === 0,
      operatorStores,
    },
  })
  const address = await app.listen({ host: config.httpHost, port: config.httpPort })
  closers.push({ name: 'http server', close: () => app.close() })
  return address.replace('[::1]', 'localhost')
}

async function startWorker(
  context: {
    pool: Pool
    logger: Logger
    networks: readonly NetworkConfig[]
    natsUrl: string | undefined
    rates: Config['rates']
    masterKeyProvider: MasterKeyProvider | undefined
  },
  closers: Closer[],
): Promise<void> {
  const { pool, logger, networks, masterKeyProvider } = context
  const extraHandlers: [string, JobHandler][] = [
    [
      'delete-expired-idempotency-keys',
      async () => void (await deleteExpiredIdempotencyKeys(pool, new Date())),
    ],
  ]
  const runner = new JobRunner({
    pool,
    handlers: jobHandlers({
      pool,
      logger,
      networks,
      natsUrl: context.natsUrl,
      rates: context.rates,
      masterKeyProvider,
      extraHandlers,
    }),
    log: logger,
    onFatal: (error) => {
      logger.fatal({ err: error }, 'assertion failed in a job: exiting so the supervisor restarts us')
      process.exit(70)
    },
  })
  await runner.start()
  closers.push({ name: 'job runner', close: () => runner.stop() })
  const scheduler = new JobScheduler(pool, logger)
  scheduler.start()
  closers.push({ name: 'job scheduler', close: async () => scheduler.stop() })
  if (masterKeyProvider !== undefined) {
    // The API's dashboard shows the hot wallet's on-chain balances; it holds no key to derive the address.
    // A key that cannot open the seed must not stop deposits from being watched: the signing jobs will
    // fail and say so; here it is a warning.
    await recordGatewayHotWallet(pool, masterKeyProvider, networks).catch((error: unknown) =>
      logger.warn(
        { code: (error as { code?: unknown }).code ?? 'unknown' },
        'could not record the hot wallet address (master key or seed unusable); signing will fail',
      ),
    )
    await scheduleSweeps(pool, networks)
    await schedulePayouts(pool, networks)
  }
  for (const network of networks) {
    const watcher = new ChainWatcher({ pool, network, logger: logger.child({ network: network.name }) })
    watcher.start()
    closers.push({ name: `${network.name} watcher`, close: () => watcher.stop() })
  }
}

/**
 * A worker that holds the master key can sign (sweeps); one without it runs every other job. Only the
 * signer role should be given the key in production (docs/adr/0007-key-custody.md).
 */
async function signerKeyProvider(config: Config, logger: Logger): Promise<MasterKeyProvider | undefined> {
  try {
    return await configuredMasterKeyProvider(config)
  } catch (error) {
    if (!(error instanceof MasterKeyMissingError)) throw error
    logger.info('no master key configured: this worker does not sign (no sweeps)')
    return undefined
  }
}
