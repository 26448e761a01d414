import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { createPool, type Pool } from '../../src/db/pool.ts'
import { runLedgerVerify } from '../../src/main/commands/ledger-verify.ts'
import { withDatabaseName } from './database-names.ts'

export type TestDatabase = { url: string; pool: Pool; drop: () => Promise<void> }

/** A fresh, migrated database for one test file (a copy of the run's template). */
export async function createTestDatabase(options: { poolSizeMax?: number } = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl')
  const name = `sluice_test_${randomBytes(6).toString('hex')}`
  const admin = createPool(adminUrl, { sizeMax: 1 })
  try {
    await admin.query(`create database ${name} template ${inject('templateDatabaseName')}`)
  } finally {
    await admin.end()
  }
  const url = withDatabaseName(adminUrl, name)
  const pool = createPool(url, { sizeMax: options.poolSizeMax ?? 10, applicationName: 'sluice-test' })
  return {
    url,
    pool,
    drop: async () => {
      // Every test file's ledger must verify before its database goes: zero drift after the whole suite.
      // Its own pool, because a test may have ended the shared one.
      const verifyPool = createPool(url, { sizeMax: 1, applicationName: 'sluice-test-verify' })
      const report: string[] = []
      let verifyExitCode = 0
      try {
        verifyExitCode = await runLedgerVerify(verifyPool, (line) => report.push(line))
      } finally {
        await verifyPool.end()
        await pool.end()
        const cleanup = createPool(adminUrl, { sizeMax: 1 })
        try {
          await cleanup.query(`drop database if exists ${name} with (force)`)
        } finally {
          await cleanup.end()
        }
      }
      if (verifyExitCode !== 0) throw new Error(`ledger verify failed on ${name}:\n${report.join('\n')}`)
    },
  }
}
