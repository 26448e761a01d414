import { ConfigError, loadConfig } from '../config/env.ts'
import { MigrationError } from '../db/migrate.ts'
import { AssertionFailure } from '../lib/assert.ts'
import { type Role, type Runtime, StartupError, startRuntime } from './runtime.ts'

/**
 * Runs a role as this process: loads configuration (a bad one stops here, naming each field), starts the
 * runtime, and on SIGTERM/SIGINT drains and exits 0. A second signal exits at once. Signals are handled
 * from the first line: one that arrives while the runtime is still starting (the API may already answer)
 * is honoured as soon as the start completes, so nothing is left half-started.
 */
export async function runProcess(
  role: Role,
  onStarted: (runtime: Runtime) => Promise<void> | void,
): Promise<void> {
  let runtime: Runtime | undefined
  let requested: string | undefined
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) process.exit(130)
    if (runtime === undefined) {
      requested = signal
      return
    }
    stopping = true
    runtime.logger.info({ signal }, 'draining, then exiting')
    await runtime.shutdown()
    process.exit(0)
  }
  // Ours drain first and stop PostgreSQL last (db/embedded.ts removes the library's own exit hooks).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal))
  try {
    runtime = await startRuntime(loadConfig(), role)
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError || error instanceof MigrationError) {
      process.stderr.write(`sluice: ${error.message}\n`)
      process.exit(78)
    }
    throw error
  }
  const started = runtime
  process.on('uncaughtException', (error) => {
    started.logger.fatal(
      { err: error, assertion: error instanceof AssertionFailure },
      'uncaught exception: exiting',
    )
    process.exit(70)
  })
  if (requested !== undefined) {
    await stop(requested)
    return
  }
  await onStarted(started)
}
