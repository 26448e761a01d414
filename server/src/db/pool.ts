import pg from 'pg'
import { limits } from '../config/limits.ts'

export type Pool = pg.Pool
export type PoolClient = pg.PoolClient
/** Anything that runs a query: the pool itself or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>

// NUMERIC comes back as a string (never a JS number) so amounts stay exact: repos convert with BigInt().
// INT8 (bigint) also stays a string for the same reason. Both are pg's defaults; we state them on purpose.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => value)
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value)

/** A pool with every knob set explicitly, so a driver upgrade cannot change behaviour silently. */
export function createPool(
  databaseUrl: string,
  options: { sizeMax?: number; applicationName?: string } = {},
) {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.sizeMax ?? limits.dbPoolSizeMax,
    connectionTimeoutMillis: limits.dbConnectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: limits.dbStatementTimeoutMs,
    idle_in_transaction_session_timeout: limits.dbIdleInTransactionTimeoutMs,
    application_name: options.applicationName ?? 'sluice',
  })
  // An idle client that loses its connection (server restart) emits here; the pool replaces it.
  pool.on('error', () => {})
  return pool
}

/**
 * A pool to the database of `pool`, with connections of its own and session settings that must not
 * reach the main pool's statements (ADR 0028: generic plans for batched writes).
 */
export function createSiblingPool(
  pool: Pool,
  options: { sizeMax: number; applicationName: string; settings: Readonly<Record<string, string>> },
): Pool {
  const settings = Object.entries(options.settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ')
  // Settings in the URL would override these (node-postgres lets a connection string win), and pg-pool
  // keeps a password given as an option out of `options`' enumerable fields.
  const { connectionString, password } = pool.options
  const url = connectionString === undefined ? undefined : new URL(connectionString)
  const urlSettings = url?.searchParams.get('options') ?? undefined
  url?.searchParams.delete('options')
  url?.searchParams.delete('application_name')
  const sibling = new pg.Pool({
    ...pool.options,
    ...(url === undefined ? {} : { connectionString: url.toString() }),
    ...(password === undefined ? {} : { password }),
    max: options.sizeMax,
    application_name: options.applicationName,
    options: [urlSettings, pool.options.options, settings].filter(Boolean).join(' '),
    // A peer gone silently (a dead host, a dropped NAT entry) is noticed instead of holding a slot.
    keepAlive: true,
  })
  sibling.on('error', () => {})
  return sibling
}
