import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Pool } from '../../src/db/pool.ts'
import { importSanctionLists } from '../../src/modules/sanctions/sanction.service.ts'

/**
 * Imports a one-file sanctions list naming `addresses`. Screening fails closed, so every test that
 * expects a deposit to be credited needs a list; the default names an address nobody pays from.
 */
export async function importTestSanctionsList(
  pool: Pool,
  addresses: readonly string[] = ['0x000000000000000000000000000000000000dead'],
): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  // As root, the embedded PostgreSQL does not read it, but the import (this process) does; keep it readable.
  chmodSync(directory, 0o755)
  const path = join(directory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(path, `${addresses.join('\n')}\n`)
  await importSanctionLists(pool, [path])
}
