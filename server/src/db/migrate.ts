import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { serverPackageDirectory } from '../lib/package-root.ts'
import type { Pool } from './pool.ts'
import { withTransaction } from './tx.ts'

/** Plain SQL, forward-only: `NNNN-name.sql`, applied in order; all pending ones commit in one transaction. */
export const migrationsDirectory = join(serverPackageDirectory, 'src', 'db', 'migrations')

export type Migration = { version: number; name: string; sql: string; checksum: string }

// Arbitrary constant: every Sluice process takes this advisory lock while migrating, so two processes
// starting together apply each migration once.
const migrationLockKey = 7_411_220_001

export function readMigrations(directory = migrationsDirectory): Migration[] {
  return readdirSync(directory)
    .filter((file) => /^\d{4}-[a-z0-9-]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(directory, file), 'utf8')
      return {
        version: Number.parseInt(file.slice(0, 4), 10),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      }
    })
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
}

type AppliedRow = { version: number; checksum: string }

/** Applies pending migrations; refuses to start if an applied migration's file was edited. */
export async function migrate(pool: Pool, migrations = readMigrations()): Promise<number[]> {
  await pool.query(`create table if not exists schema_migrations (
    version integer primary key, name text not null, checksum text not null,
    applied_at timestamptz not null default now())`)
  return await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [migrationLockKey])
    const applied = await client.query<AppliedRow>('select version, checksum from schema_migrations')
    const appliedByVersion = new Map(applied.rows.map((row) => [row.version, row.checksum]))
    const newlyApplied: number[] = []
    for (const migration of migrations) {
      const checksum = appliedByVersion.get(migration.version)
      if (checksum === undefined) {
        await client.query(migration.sql)
        await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ])
        newlyApplied.push(migration.version)
      } else if (checksum !== migration.checksum) {
        throw new MigrationError(
          `migration ${migration.version}-${migration.name} was edited after it was applied`,
        )
      }
    }
    return newlyApplied
  })
}

/** Versions on disk that the database has not applied yet (readiness fails while any remain). */
export async function pendingMigrations(pool: Pool, migrations = readMigrations()): Promise<number[]> {
  const exists = await pool.query<{ present: boolean }>(
    "select to_regclass('schema_migrations') is not null as present",
  )
  if (exists.rows[0]?.present !== true) return migrations.map((migration) => migration.version)
  const applied = await pool.query<{ version: number }>('select version from schema_migrations')
  const versions = new Set(applied.rows.map((row) => row.version))
  return migrations
    .filter((migration) => !versions.has(migration.version))
    .map((migration) => migration.version)
}
