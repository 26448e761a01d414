import { join } from 'node:path'
import type { Config } from '../config/config.types.ts'
import { startEmbeddedDatabase } from '../db/embedded.ts'
import { migrate } from '../db/migrate.ts'
import { createPool, type Pool } from '../db/pool.ts'

/**
 * The database for a CLI command: DATABASE_URL's, else the embedded one — shared with a running
 * gateway, or started for the command and stopped after. Migrations are applied first.
 */
export async function openToolDatabase(config: Config): Promise<{ pool: Pool; close: () => Promise<void> }> {
  const embedded =
    config.databaseUrl === undefined
      ? await startEmbeddedDatabase(join(config.dataDir, 'postgres'), { shareRunning: true })
      : undefined
  const pool = createPool(config.databaseUrl ?? embedded?.url ?? '', {
    sizeMax: 4,
    applicationName: 'sluice-cli',
  })
  try {
    await migrate(pool)
  } catch (error) {
    await pool.end()
    await embedded?.stop()
    throw error
  }
  return {
    pool,
    close: async () => {
      await pool.end()
      await embedded?.stop()
    },
  }
}
