import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { bundleServer } from '../../scripts/bundle.ts'
import { readTestDatabaseUrl } from '../../src/config/env.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'
import { templateDatabasePrefix, withDatabaseName } from './database-names.ts'
import { assertNoSecretsIn } from './leak-guard.ts'
import { suiteLogDirectory } from './suite-logs.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the test server (its `postgres` database); test files create their own databases. */
    adminDatabaseUrl: string
    /** Where test files put what must not outlive the run (gateways' data directories); deleted at its end. */
    runDirectory: string
    /** This run's migrated template database, which each test file copies. */
    templateDatabaseName: string
  }
}

/**
 * Once per run: a PostgreSQL server (TEST_DATABASE_URL's, else an embedded one in a temp directory) and a
 * migrated template database. Each test file clones the template (`create database … template …`), which
 * takes milliseconds and isolates files running in parallel.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = readTestDatabaseUrl()
  let stop = async () => {}
  let serverUrl: string
  if (external === undefined) {
    const directory = mkdtempSync(join(tmpdir(), 'sluice-test-pg-'))
    chmodSync(directory, 0o755)
    const embedded = await startEmbeddedDatabase(directory)
    serverUrl = embedded.url
    stop = async () => {
      await embedded.stop()
      rmSync(directory, { recursive: true, force: true })
    }
  } else serverUrl = external
  // e2e tests run the gateway as `npm start` does: from its bundle, built from the sources under test.
  if (project.name === 'e2e') await bundleServer()
  const adminUrl = withDatabaseName(serverUrl, 'postgres')
  // Named per run: runs sharing a server (two tiers at once, a developer beside CI) must not drop each
  // other's template in the middle of creating databases from it.
  const templateName = `${templateDatabasePrefix}${randomBytes(4).toString('hex')}`
  await createTemplate(adminUrl, serverUrl, templateName)
  project.provide('adminDatabaseUrl', adminUrl)
  project.provide('templateDatabaseName', templateName)
  const runDirectory = mkdtempSync(join(tmpdir(), 'sluice-test-run-'))
  // As root, an embedded PostgreSQL inside it runs as `postgres` and must traverse it.
  chmodSync(runDirectory, 0o755)
  project.provide('runDirectory', runDirectory)
  return async () => {
    await dropDatabase(adminUrl, templateName).catch(() => {})
    await stop()
    rmSync(runDirectory, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 })
    assertNoSecretsInSuiteLogs()
  }
}

/** Fails the run if any process the suite started logged a known test secret (issue 4). */
function assertNoSecretsInSuiteLogs(): void {
  if (!existsSync(suiteLogDirectory)) return
  for (const file of readdirSync(suiteLogDirectory)) {
    assertNoSecretsIn(readFileSync(join(suiteLogDirectory, file), 'utf8'))
  }
}

async function createTemplate(adminUrl: string, serverUrl: string, name: string): Promise<void> {
  const admin = createPool(adminUrl, { sizeMax: 1 })
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const template = createPool(withDatabaseName(serverUrl, name), { sizeMax: 1 })
  try {
    await migrate(template)
  } finally {
    await template.end()
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = createPool(adminUrl, { sizeMax: 1 })
  try {
    await admin.query(`drop database if exists ${name} with (force)`)
  } finally {
    await admin.end()
  }
}
