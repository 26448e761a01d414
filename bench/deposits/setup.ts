import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrate } from '../../server/src/db/migrate.ts'
import { createPool, type Pool } from '../../server/src/db/pool.ts'
import { importSanctionLists } from '../../server/src/modules/sanctions/sanction.service.ts'
import { busyShare, machineCpu, stealShare } from '../machine.ts'

/** A scratch database on the benchmark server, migrated, with a merchant and a sanctions list. */
export async function scratchDatabase(
  serverUrl: string,
  name: string,
): Promise<{ pool: Pool; url: string; merchantId: string }> {
  const admin = createPool(serverUrl, { sizeMax: 1 })
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const pool = createPool(url.toString(), { sizeMax: 8 })
  await migrate(pool)
  const merchantId = 'mer_BENCH0000000000000000000000'
  await pool.query("insert into merchants (id, name) values ($1, 'Bench Store')", [merchantId])
  const directory = mkdtempSync(join(tmpdir(), 'sluice-bench-sanctions-'))
  chmodSync(directory, 0o755)
  writeFileSync(
    join(directory, 'sanctioned_addresses_ETH.txt'),
    '0x000000000000000000000000000000000000dead\n',
  )
  await importSanctionLists(pool, [join(directory, 'sanctioned_addresses_ETH.txt')])
  rmSync(directory, { recursive: true, force: true }) // imported: the file is not read again
  return { pool, url: url.toString(), merchantId }
}

/**
 * A copy of `template` (which must have no open connection) named `name`, for one catch-up round: every
 * round starts from the same settled setup. FILE_COPY copies the files after a checkpoint instead of
 * writing every page to the WAL (PostgreSQL 15+; older servers take the plain form). `count` gives the
 * copy's payments; `drop` drops it.
 */
export async function cloneDatabase(
  serverUrl: string,
  template: string,
  name: string,
): Promise<{ url: string; count: () => Promise<number>; drop: () => Promise<void> }> {
  const admin = createPool(serverUrl, { sizeMax: 1 })
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin
    .query(`create database ${name} template ${template} strategy file_copy`)
    .catch(() => admin.query(`create database ${name} template ${template}`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const count = async () => {
    const copy = createPool(url.toString(), { sizeMax: 1 })
    try {
      const counted = await copy.query<{ count: string }>('select count(*) from payments')
      return Number.parseInt(counted.rows[0]?.count ?? '0', 10)
    } finally {
      await copy.end()
    }
  }
  const drop = async () => {
    try {
      await admin.query(`drop database ${name} with (force)`)
    } finally {
      await admin.end()
    }
  }
  return { url: url.toString(), count, drop }
}

/**
 * Before each timed pass: flushes pending writes (`sync`) and waits (at most `timeoutMs`) until every
 * core has been under `busyShareMax` busy for `quietMs`, so no pass pays for a database copy's writeback,
 * a dropped database or the pass before it. Returns how long it waited.
 */
export async function settleMachine(options = { quietMs: 1_000, timeoutMs: 15_000, busyShareMax: 0.1 }) {
  const started = performance.now()
  spawnSync('sync')
  let quietSince = performance.now()
  let previous = machineCpu()
  while (performance.now() - started < options.timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const current = machineCpu()
    if (busyShare(previous, current) + stealShare(previous, current) > options.busyShareMax)
      quietSince = performance.now()
    previous = current
    if (performance.now() - quietSince >= options.quietMs) break
  }
  return performance.now() - started
}

export function randomAddress(): `0x${string}` {
  return `0x${randomBytes(20).toString('hex')}`
}

/**
 * Inserts watched deposit addresses: the given ones, then random ones up to `total`, generated inside
 * PostgreSQL (md5-based) so a million rows take seconds.
 */
export async function insertWatchedAddresses(
  pool: Pool,
  merchantId: string,
  given: readonly string[],
  total: number,
): Promise<void> {
  await pool.query(
    `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
     select a, $1, 'customer', 'cus_bench_' || i, 0, i - 1 from unnest($2::text[]) with ordinality as t(a, i)`,
    [merchantId, given.map((address) => address.toLowerCase())],
  )
  // In chunks: one statement for a million rows would pass the pool's statement timeout.
  for (let first = given.length; first < total; first += 100_000) {
    await pool.query(
      `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
       select '0x' || substr(md5(i::text || 'a'), 1, 32) || substr(md5(i::text || 'b'), 1, 8), $1, 'customer', 'cus_random_' || i, 0, i
       from generate_series($2::int, $3::int - 1) as i`,
      [merchantId, first, Math.min(first + 100_000, total)],
    )
  }
}

/**
 * Settles what the setup wrote before anything is timed, as pgbench vacuums before a run: the million
 * inserted addresses would otherwise be vacuumed (autovacuum's insert threshold) and checkpointed while the
 * catch-up runs, on the same 2 cores, and the first reads of them would set every row's hint bits. A watcher
 * of a real deployment reads addresses autovacuum has long since visited. Returns whether the checkpoint ran
 * (it needs a superuser or pg_checkpoint; the vacuum needs the table's owner, which the bench is).
 */
export async function settleSetupWrites(pool: Pool): Promise<{ checkpointed: boolean }> {
  await pool.query('vacuum (analyze) deposit_addresses')
  try {
    await pool.query('checkpoint')
    return { checkpointed: true }
  } catch {
    return { checkpointed: false }
  }
}
