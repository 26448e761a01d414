import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import type { NetworkConfig } from '../../server/src/config/config.types.ts'
import { readTestDatabaseUrl } from '../../server/src/config/env.ts'
import { createPool, type Pool } from '../../server/src/db/pool.ts'
import { createRawMasterKeyProvider } from '../../server/src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../server/src/modules/keys/key.service.ts'
import { createMerchant } from '../../server/src/modules/merchants/merchant.service.ts'
import { scratchDatabase } from '../deposits/setup.ts'
import { busyShare, machineCpu, stealShare } from '../machine.ts'

export const serverUrl = readTestDatabaseUrl() ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * The one network of the benchmark gateway. Creating an invoice reads only its name and tokens: no chain
 * runs, and the RPC URL (the discard port) is never called.
 */
export const benchNetwork: NetworkConfig = {
  name: 'bench',
  kind: 'evm',
  chainId: 31_337,
  rpcUrls: ['http://127.0.0.1:9/'],
  blockTimeMs: 12_000,
  finality: { kind: 'confirmations', confirmations: 12 },
  tokens: [{ symbol: 'USDT', contractAddress: '0xdac17f958d2ee523a2206206994597c13d831ec7', decimals: 6 }],
}

export type BenchStore = { pool: Pool; url: string; merchantId: string; apiKey: string }

/**
 * A scratch database (migrated, from bench/deposits/setup.ts) with the HD root initialised and one store
 * holding an all-scopes API key and an exported account xpub, as in server/test/e2e/invoices.e2e.test.ts.
 */
export async function scratchStore(name: string): Promise<BenchStore> {
  const database = await scratchDatabase(serverUrl, name)
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Bench API Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  return { pool: database.pool, url: database.url, merchantId: store.merchant.id, apiKey: store.apiKey.key }
}

/** Client backends of other databases that are running a statement now (another benchmark, a test run). */
export async function otherActiveBackends(admin: Pool, ownDatabases: readonly string[]): Promise<number> {
  const result = await admin.query<{ count: number }>(
    `select count(*)::int as count from pg_stat_activity
     where backend_type = 'client backend' and state = 'active' and pid <> pg_backend_pid()
       and application_name <> 'sluice-bench-api-monitor' and not (datname = any($1))`,
    [ownDatabases],
  )
  return result.rows[0]?.count ?? 0
}

/** CPU time (ms) of each process, from /proc/<pid>/stat (utime + stime); exited processes are left out. */
export function processCpuMs(pids: readonly number[]): Map<number, number> {
  const cpu = new Map<number, number>()
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // USER_HZ is 100 on Linux: a tick is 10 ms.
      cpu.set(pid, (Number.parseInt(fields[11] ?? '0', 10) + Number.parseInt(fields[12] ?? '0', 10)) * 10)
    } catch {
      // exited
    }
  }
  return cpu
}

export type QuietCheck = { waitedMs: number; quiet: boolean; idleShare: number; load1: number }

/**
 * Waits (at most `timeoutMs`) until the machine is quiet for `quietMs`: no other database has an active
 * backend and at least `idleShareMin` of the CPU is idle. Both are shared here (other benchmarks, test
 * runs, type checks), and a busy neighbour halves every figure; the result goes into the notes.
 */
export async function waitForQuietMachine(
  ownDatabases: readonly string[],
  options: { quietMs: number; timeoutMs: number; idleShareMin: number },
): Promise<QuietCheck> {
  const admin = createPool(serverUrl, { sizeMax: 1, applicationName: 'sluice-bench-api-monitor' })
  const started = performance.now()
  let quietSince = performance.now()
  let previous = machineCpu()
  let idleShare = 0
  try {
    for (let polls = 0; polls < 100_000; polls += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const current = machineCpu()
      // Stolen time is not ours to use: a contended host is not a quiet machine.
      idleShare = 1 - busyShare(previous, current) - stealShare(previous, current)
      previous = current
      const busy = (await otherActiveBackends(admin, ownDatabases)) > 0 || idleShare < options.idleShareMin
      if (busy) quietSince = performance.now()
      const waitedMs = performance.now() - started
      if (performance.now() - quietSince >= options.quietMs)
        return { waitedMs, quiet: true, idleShare, load1: loadavg()[0] ?? 0 }
      if (waitedMs >= options.timeoutMs)
        return { waitedMs, quiet: false, idleShare, load1: loadavg()[0] ?? 0 }
    }
    return { waitedMs: performance.now() - started, quiet: false, idleShare, load1: loadavg()[0] ?? 0 }
  } finally {
    await admin.end()
  }
}

/** Samples other databases' active backends while a phase runs: the mean says how shared the server was. */
export function monitorOtherLoad(ownDatabases: readonly string[]): { stop: () => Promise<number> } {
  const admin = createPool(serverUrl, { sizeMax: 1, applicationName: 'sluice-bench-api-monitor' })
  const samples: number[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      samples.push(await otherActiveBackends(admin, ownDatabases))
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      await admin.end()
      return samples.length === 0 ? 0 : samples.reduce((sum, value) => sum + value, 0) / samples.length
    },
  }
}

export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN
}

/**
 * Samples pg_stat_activity of one database every `intervalMs` while a phase runs: for each wait
 * (`type:event`, or `running` when the backend is on CPU), the mean number of active backends in it.
 * `Lock:advisory` is pg_advisory_xact_lock, `Lock:object` the commit-time lock every NOTIFYing transaction
 * takes, `IO:WALSync`/`LWLock:WALWrite` the commit flush.
 */
export function sampleWaits(
  database: string,
  intervalMs = 50,
): { stop: () => Promise<Record<string, number>> } {
  const admin = createPool(serverUrl, { sizeMax: 1, applicationName: 'sluice-bench-api-monitor' })
  const totals = new Map<string, number>()
  let samples = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const result = await admin.query<{ wait: string; count: number }>(
        `select coalesce(wait_event_type || ':' || wait_event, 'running') as wait, count(*)::int as count
         from pg_stat_activity
         where datname = $1 and state = 'active' and pid <> pg_backend_pid()
           and application_name <> 'sluice-bench-api-monitor'
         group by 1`,
        [database],
      )
      samples += 1
      for (const row of result.rows) totals.set(row.wait, (totals.get(row.wait) ?? 0) + row.count)
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      await admin.end()
      const means: Record<string, number> = {}
      for (const [wait, total] of [...totals].sort((a, b) => b[1] - a[1]))
        means[wait] = total / Math.max(samples, 1)
      return means
    },
  }
}

export type PhaseLoad = {
  seconds: number
  /** Busy share of all cores over the phase (every process on the machine; steal excluded). */
  machineBusyShare: number
  /** Share of all cores the host took over the phase (steal): high means every figure is low. */
  machineStealShare: number
  /** CPU of the PostgreSQL backends serving `applicationNames` in the database, ms per second. */
  postgresCpuMsPerSecond: number
  /** CPU of this (the benchmark) process: autocannon, the receiver, the event recorder. */
  benchCpuMsPerSecond: number
  otherActiveBackends: number
  waits: Record<string, number>
}

/**
 * Everything measured around one phase besides its own figures: who used the CPU, how PostgreSQL's
 * backends spent their time (sampleWaits) and whether other databases were busy.
 */
export async function startPhase(database: string, applicationNames: readonly string[]) {
  const admin = createPool(serverUrl, { sizeMax: 1, applicationName: 'sluice-bench-api-monitor' })
  const backendPids = async () =>
    (
      await admin.query<{ pid: number }>(
        'select pid from pg_stat_activity where datname = $1 and application_name = any($2)',
        [database, applicationNames],
      )
    ).rows.map((row) => row.pid)
  const postgresBefore = processCpuMs(await backendPids())
  const machineBefore = machineCpu()
  const benchBefore = process.cpuUsage()
  const started = performance.now()
  const others = monitorOtherLoad([database])
  const waits = sampleWaits(database)
  return {
    stop: async (): Promise<PhaseLoad> => {
      const seconds = (performance.now() - started) / 1000
      const bench = process.cpuUsage(benchBefore)
      const machineAfter = machineCpu()
      // A backend that connected during the phase counts from zero; one that left is lost (rare: pools
      // keep idle connections for 30 s).
      let postgresMs = 0
      for (const [pid, cpu] of processCpuMs(await backendPids()))
        postgresMs += cpu - (postgresBefore.get(pid) ?? 0)
      await admin.end()
      return {
        seconds,
        machineBusyShare: busyShare(machineBefore, machineAfter),
        machineStealShare: stealShare(machineBefore, machineAfter),
        postgresCpuMsPerSecond: postgresMs / seconds,
        benchCpuMsPerSecond: (bench.user + bench.system) / 1000 / seconds,
        otherActiveBackends: await others.stop(),
        waits: await waits.stop(),
      }
    },
  }
}
