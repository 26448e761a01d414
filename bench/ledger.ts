import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { migrate } from '../server/src/db/migrate.ts'
import { createPool, type Pool } from '../server/src/db/pool.ts'
import { assert } from '../server/src/lib/assert.ts'
import { newId } from '../server/src/lib/ids.ts'
import { runLedgerVerify } from '../server/src/main/commands/ledger-verify.ts'
import {
  createTransfer,
  createTransfers,
  foldHotAccountDeltas,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../server/src/modules/ledger/ledger.service.ts'
import type { Account, TransferRequest } from '../server/src/modules/ledger/ledger.types.ts'
import { waitForQuietMachine } from './api/setup.ts'
import { busyShare, coreCount, machineCpu } from './machine.ts'
import { appendResults, type BenchFigure } from './results.ts'

// `npm run bench -- ledger`: the ledger's posting path against pgbench's TPC-B-like baseline, measured in
// the same run on the same PostgreSQL (127.0.0.1:5432, user postgres, trust auth). Goals from issue 3:
// (b) ≥ 1.0 × (a); (c) ≥ 0.8 × (b); p99 of (b) ≤ 15 ms. docs/adr/0006-ledger-hot-accounts.md discusses them.
//
// The ledger load comes from 8 connections, as pgbench's 8 clients, driven by one client thread (a worker
// thread) as a gateway process drives its pool: one event loop for all its connections. `--threads N`
// spreads them over N threads instead; measured, more threads cost the client more CPU per posting
// (docs/adr/0006-ledger-hot-accounts.md), so one is the default.

const serverUrl = 'postgres://postgres@127.0.0.1:5432'
const pgbenchDatabase = 'sluice_bench_pgbench'
const ledgerDatabase = 'sluice_bench_ledger'
const ledgerUrl = `${serverUrl}/${ledgerDatabase}`
const connections = 8
// `--quick`: one round of (a), (b) and (c), printed and not appended (a diagnostic run). `--threads N`: client
// threads driving the connections instead of 1 (a diagnostic run too).
const options = parseArgs({
  args: process.argv.slice(2),
  options: { quick: { type: 'boolean', default: false }, threads: { type: 'string' } },
}).values
const clientThreads = options.threads === undefined ? 1 : Number.parseInt(options.threads, 10)
const accountCount = 10_000
const runMs = 15_000
const comparisonRunMs = 8_000
/** (a), (b) and (c) alternate this many times; the figures are means over the rounds. */
const roundCount = 2
/** Caps each connection's loop by count as well as by time, whatever the machine. */
const postingsPerConnectionMax = 1_000_000
const foldIntervalMs = 100
const batchSize = 16
const asset = 'USDT@bench'

type Scenario = 'spread' | 'hot' | 'hot-sync' | 'batched'
type WorkerInput = {
  scenario: Scenario
  durationMs: number
  connections: number
  merchantIds: string[]
  hotAccountId: string
  syncSinkId: string
}
type Run = { postings: number; seconds: number; latenciesMs: number[] }

function transfer(debitAccountId: string, creditAccountId: string): TransferRequest {
  return {
    kind: 'single',
    id: newId('trf'),
    debitAccountId,
    creditAccountId,
    assetId: asset,
    amount: 1n,
    code: 'bench',
  }
}

function pick(ids: readonly string[]): string {
  const id = ids[Math.floor(Math.random() * ids.length)]
  if (id === undefined) throw new Error('pick from an empty list')
  return id
}

function randomPair(ids: readonly string[]): TransferRequest {
  const debit = pick(ids)
  let credit = pick(ids)
  while (credit === debit) credit = pick(ids)
  return transfer(debit, credit)
}

function nextRequests(input: WorkerInput): TransferRequest[] {
  switch (input.scenario) {
    case 'spread':
      return [randomPair(input.merchantIds)]
    case 'hot':
      return [transfer(pick(input.merchantIds), input.hotAccountId)]
    case 'hot-sync':
      return [transfer(pick(input.merchantIds), input.syncSinkId)]
    case 'batched':
      return Array.from({ length: batchSize }, () => randomPair(input.merchantIds))
  }
}

/** One client thread: its connections post until the deadline or the count cap, one request at a time each. */
async function runClientThread(input: WorkerInput): Promise<Omit<Run, 'seconds'>> {
  const pool = createPool(ledgerUrl, { sizeMax: input.connections, applicationName: 'sluice-bench' })
  const clients = await Promise.all(Array.from({ length: input.connections }, () => pool.connect()))
  const latenciesMs: number[] = []
  let postings = 0
  // Connected: wait for the go, so thread start-up and connecting stay out of the measured time (as pgbench
  // reports tps "without initial connection time").
  const port = parentPort
  assert(port !== null, 'a client thread runs in a worker')
  port.postMessage({ ready: true })
  await new Promise((resolve) => port.once('message', resolve))
  const deadline = performance.now() + input.durationMs
  try {
    await Promise.all(
      clients.map(async (client) => {
        for (let count = 0; count < postingsPerConnectionMax && performance.now() < deadline; count += 1) {
          const requests = nextRequests(input)
          const sent = performance.now()
          const first = requests[0]
          if (requests.length === 1 && first !== undefined) await createTransfer(client, first)
          else await createTransfers(client, requests)
          latenciesMs.push(performance.now() - sent)
          postings += requests.length
        }
      }),
    )
  } finally {
    for (const client of clients) client.release()
    await pool.end()
  }
  return { postings, latenciesMs }
}

async function withAdmin<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
  const admin = createPool(`${serverUrl}/postgres`, { sizeMax: 1, applicationName: 'sluice-bench' })
  try {
    return await work(admin)
  } finally {
    await admin.end()
  }
}

async function recreateDatabase(name: string): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.query(`create database ${name}`)
  })
}

async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`))
}

function runPgbench(args: string[], timeoutMs: number): string {
  const result = spawnSync('pgbench', ['-h', '127.0.0.1', '-U', 'postgres', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  })
  if (result.status !== 0) throw new Error(`pgbench ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}

/** (a) pgbench's built-in TPC-B-like script, 8 clients, 2 threads, 15 s: tps without connection time. */
function measurePgbench(): number {
  return tpsOf(runPgbench(['-c', '8', '-j', '2', '-T', '15', pgbenchDatabase], 60_000))
}

function tpsOf(output: string): number {
  const match = /tps = ([0-9.]+) \(without initial connection time\)/.exec(output)
  if (match?.[1] === undefined) throw new Error(`no tps in pgbench output:\n${output}`)
  return Number.parseFloat(match[1])
}

// The ledger's SQL path alone: the same postings as (b), driven by pgbench's C client instead of the Node
// service. Not a goal; it separates what the database sustains from what the client costs.
const pgbenchLedgerScript = `\\set a random(0, ${accountCount - 1})
\\set b (:a + random(1, ${accountCount - 1})) % ${accountCount}
select seq from ledger_post_transfer('pgb-' || gen_random_uuid(), 'single',
  (select id from bench_account_ids where n = :a), (select id from bench_account_ids where n = :b),
  '${asset}', '1', null, null, 'bench', '{}'::jsonb, repeat('0', 64));
`

async function measureLedgerByPgbench(setup: Setup): Promise<number> {
  await setup.pool.query(
    'create table if not exists bench_account_ids (n integer primary key, id text not null)',
  )
  await setup.pool.query(
    'insert into bench_account_ids (n, id) select n - 1, id from unnest($1::text[]) with ordinality u(id, n) on conflict do nothing',
    [setup.merchants.map((merchant) => merchant.id)],
  )
  const directory = mkdtempSync(join(tmpdir(), 'sluice-bench-ledger-'))
  try {
    const script = join(directory, 'posting.sql')
    writeFileSync(script, pgbenchLedgerScript)
    const output = runPgbench(
      [
        '-c',
        '8',
        '-j',
        '2',
        '-T',
        `${comparisonRunMs / 1000}`,
        '-M',
        'prepared',
        '-n',
        '-f',
        script,
        ledgerDatabase,
      ],
      60_000,
    )
    return tpsOf(output)
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}

type Setup = { pool: Pool; merchants: Account[]; fees: Account; syncSink: Account }

async function inParallel<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next]
        next += 1
        if (item !== undefined) await work(item)
      }
    }),
  )
}

/** 10,000 merchant accounts (no overdraft), each funded, plus the system accounts the scenarios use. */
async function setUpLedger(): Promise<Setup> {
  await recreateDatabase(ledgerDatabase)
  const pool = createPool(ledgerUrl, { sizeMax: connections + 2, applicationName: 'sluice-bench' })
  await migrate(pool)
  const merchants: Account[] = []
  const indexes = Array.from({ length: accountCount }, (_, index) => index)
  await inParallel(indexes, connections, async (index) => {
    const input = {
      ownerType: 'merchant',
      ownerId: `mer_bench_${index}`,
      purpose: 'available',
      assetId: asset,
    } as const
    merchants.push(
      await getOrCreateAccount(pool, {
        ...input,
        normalSide: 'credit',
        flags: { debitsMustNotExceedCredits: true },
      }),
    )
  })
  const funding = await getOrCreateSystemAccount(pool, 'suspense', asset)
  const fees = await getOrCreateSystemAccount(pool, 'fee-revenue', asset)
  const syncSink = await getOrCreateSystemAccount(pool, 'sweep-in-transit', asset)
  const batches: TransferRequest[][] = []
  for (let start = 0; start < merchants.length; start += 100) {
    batches.push(
      merchants
        .slice(start, start + 100)
        .map((merchant) => ({ ...transfer(funding.id, merchant.id), amount: 10n ** 12n })),
    )
  }
  await inParallel(batches, 2, async (batch) => {
    await createTransfers(pool, batch)
  })
  await pool.query('vacuum analyze')
  return { pool, merchants, fees, syncSink }
}

/** Runs a scenario on `connections` connections spread over `clientThreads` worker threads. */
async function drive(setup: Setup, scenario: Scenario, durationMs: number): Promise<Run> {
  const input: Omit<WorkerInput, 'connections'> = {
    scenario,
    durationMs,
    merchantIds: setup.merchants.map((merchant) => merchant.id),
    hotAccountId: setup.fees.id,
    syncSinkId: setup.syncSink.id,
  }
  const workers = Array.from(
    { length: clientThreads },
    () =>
      new Worker(workerBootstrap, {
        eval: true,
        workerData: { ...input, connections: Math.ceil(connections / clientThreads) },
      }),
  )
  await Promise.all(workers.map((worker) => once(worker, 'message')))
  const started = performance.now()
  for (const worker of workers) worker.postMessage({ go: true })
  const results = await Promise.all(
    workers.map(async (worker) => {
      const [result] = (await once(worker, 'message')) as [Omit<Run, 'seconds'>]
      return result
    }),
  )
  return {
    postings: results.reduce((sum, result) => sum + result.postings, 0),
    seconds: (performance.now() - started) / 1000,
    latenciesMs: results.flatMap((result) => result.latenciesMs),
  }
}

// A worker thread does not inherit tsx's loader: register it, then load this file in the worker.
const workerBootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN
}

/** The fold job, as the lead will schedule it, running beside the postings of a hot-account scenario. */
function startFolding(pool: Pool): { stop: () => Promise<number> } {
  let stopped = false
  let folded = 0
  const loop = (async () => {
    while (!stopped) {
      folded += await foldHotAccountDeltas(pool)
      await new Promise((resolve) => setTimeout(resolve, foldIntervalMs))
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      return folded
    },
  }
}

/** CPU of one phase, ms: this process (its client threads) and its children (pgbench), and the machine. */
type PhaseCpu = { clientMs: number; machineMs: number }

function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // cutime + cstime of waited-for children, in ticks of 10 ms (USER_HZ 100).
  return (Number.parseInt(fields[13] ?? '0', 10) + Number.parseInt(fields[14] ?? '0', 10)) * 10
}

/** Measures `work`'s CPU: the client side exactly, the rest (PostgreSQL, mostly) as machine minus client. */
async function withCpu<T>(work: () => T | Promise<T>): Promise<[T, PhaseCpu]> {
  const machineBefore = machineCpu()
  const selfBefore = process.cpuUsage()
  const childrenBefore = childrenCpuMs()
  const result = await work()
  const self = process.cpuUsage(selfBefore)
  const machineAfter = machineCpu()
  const machineMs = busyShare(machineBefore, machineAfter) * ((machineAfter.total - machineBefore.total) * 10)
  const clientMs = (self.user + self.system) / 1000 + childrenCpuMs() - childrenBefore
  return [result, { clientMs, machineMs }]
}

type Round = {
  tpcb: number
  spread: Run
  hot: Run
  foldedDuringHot: number
  tpcbCpu: PhaseCpu
  spreadCpu: PhaseCpu
}

/**
 * One round: (a), (b) and (c) back to back. Rounds alternate so that a neighbour's load, which comes and
 * goes on a shared machine, weighs on the baseline and on the ledger alike.
 */
async function measureRound(setup: Setup): Promise<Round> {
  const [tpcb, tpcbCpu] = await withCpu(measurePgbench)
  const [spread, spreadCpu] = await withCpu(() => drive(setup, 'spread', runMs))
  const folding = startFolding(setup.pool)
  const hot = await drive(setup, 'hot', runMs)
  return { tpcb, spread, hot, foldedDuringHot: await folding.stop(), tpcbCpu, spreadCpu }
}

const perSecond = (run: Run) => run.postings / run.seconds
const fixed = (value: number, digits = 0) => value.toFixed(digits)
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length

function figuresOf(
  rounds: readonly Round[],
  comparisons: { hotSync: Run; batched: Run; byPgbench: number },
  verified: boolean,
): BenchFigure[] {
  const a = mean(rounds.map((round) => round.tpcb))
  const b = mean(rounds.map((round) => perSecond(round.spread)))
  const c = mean(rounds.map((round) => perSecond(round.hot)))
  const ratioBA = mean(rounds.map((round) => perSecond(round.spread) / round.tpcb))
  const ratioCB = mean(rounds.map((round) => perSecond(round.hot) / perSecond(round.spread)))
  const spreadLatencies = rounds.flatMap((round) => round.spread.latenciesMs)
  const p99 = percentile(spreadLatencies, 0.99)
  const hotSync = comparisons.hotSync
  return [
    { name: '(a) pgbench TPC-B-like, scale 8, -c 8 -j 2 -T 15 (tps, mean of rounds)', value: fixed(a) },
    {
      name: '(b) postings/s, random pairs of 10,000 accounts, 8 connections',
      value: fixed(b),
      goal: '≥ 1.0 × (a)',
    },
    {
      name: '(b) / (a), mean of per-round ratios',
      value: fixed(ratioBA, 2),
      goal: '≥ 1.00',
      met: ratioBA >= 1,
    },
    {
      name: '(c) postings/s, one hot account (deferred) in every posting',
      value: fixed(c),
      goal: '≥ 0.8 × (b)',
    },
    {
      name: '(c) / (b), mean of per-round ratios',
      value: fixed(ratioCB, 2),
      goal: '≥ 0.80',
      met: ratioCB >= 0.8,
    },
    { name: '(d) p99 latency of (b), ms', value: fixed(p99, 2), goal: '≤ 15', met: p99 <= 15 },
    { name: 'p50 latency of (b), ms', value: fixed(percentile(spreadLatencies, 0.5), 2) },
    {
      name: 'p99 latency of (c), ms',
      value: fixed(
        percentile(
          rounds.flatMap((round) => round.hot.latenciesMs),
          0.99,
        ),
        2,
      ),
    },
    {
      name: 'comparison: the hot account kept synchronous (row lock), postings/s',
      value: fixed(perSecond(hotSync)),
    },
    {
      name: 'comparison: p99 of the synchronous hot account, ms',
      value: fixed(percentile(hotSync.latenciesMs, 0.99), 2),
    },
    {
      name: `comparison: linked batches of ${batchSize} random pairs, postings/s`,
      value: fixed(perSecond(comparisons.batched)),
    },
    {
      name: 'comparison: postings as in (b), driven by pgbench (C client, -M prepared, no TypeScript checks), postings/s',
      value: fixed(comparisons.byPgbench),
    },
    { name: 'ledger verify after the run', value: verified ? 'no drift' : 'DRIFT', met: verified },
  ]
}

function cpuText(cpu: PhaseCpu, units: number): string {
  return `${fixed(cpu.clientMs / units, 3)} + ${fixed((cpu.machineMs - cpu.clientMs) / units, 3)} ms`
}

function notesOf(rounds: readonly Round[], backlog: string, verifyLine: string | undefined): string[] {
  const perRound = rounds.map(
    (round, index) =>
      `round ${index + 1}: (a) ${fixed(round.tpcb)} tps, (b) ${fixed(perSecond(round.spread))}/s, (c) ${fixed(perSecond(round.hot))}/s, ` +
      `p99 (b) ${fixed(percentile(round.spread.latenciesMs, 0.99), 2)} ms; the fold job folded ${round.foldedDuringHot} deltas during (c); ` +
      `CPU per unit, client + rest of the machine (PostgreSQL, mostly): (a) ${cpuText(round.tpcbCpu, (round.tpcb * runMs) / 1000)}, ` +
      `(b) ${cpuText(round.spreadCpu, round.spread.postings)}`,
  )
  return [
    ...perRound,
    `(c) runs with the fold job every ${foldIntervalMs} ms on a separate connection; ${backlog} deltas were unfolded when the last (c) ended.`,
    `Ledger load: ${connections} connections on ${clientThreads} client thread(s) (pgbench: 8 clients on 2 threads); each posting is one call of ledger_post_transfer (a named prepared statement): one round trip, one commit.`,
    ...(verifyLine === undefined ? [] : [verifyLine]),
  ]
}

async function main(): Promise<void> {
  const quick = options.quick || options.threads !== undefined
  // Shared machine: wait (bounded) for other benchmarks and test runs to finish, and say so if they did not.
  const quiet = await waitForQuietMachine([pgbenchDatabase, ledgerDatabase], {
    quietMs: 5_000,
    timeoutMs: 120_000,
    idleShareMin: 0.6,
  })
  if (!quiet.quiet) console.error('warning: the machine stayed busy; figures will be low')
  await recreateDatabase(pgbenchDatabase)
  runPgbench(['-i', '-s', '8', '-q', pgbenchDatabase], 120_000)
  const setup = await setUpLedger()
  try {
    const rounds: Round[] = []
    for (let round = 0; round < (quick ? 1 : roundCount); round += 1) rounds.push(await measureRound(setup))
    if (quick) {
      console.log(notesOf(rounds, '?', undefined).join('\n'))
      return
    }
    const backlog = await setup.pool.query<{ count: string }>(
      'select count(*) as count from ledger_hot_deltas',
    )
    const hotSync = await drive(setup, 'hot-sync', comparisonRunMs)
    const batched = await drive(setup, 'batched', comparisonRunMs)
    const byPgbench = await measureLedgerByPgbench(setup)
    await foldHotAccountDeltas(setup.pool)
    const verifyLines: string[] = []
    const verified = (await runLedgerVerify(setup.pool, (line) => verifyLines.push(line))) === 0
    const notes = [
      ...notesOf(rounds, backlog.rows[0]?.count ?? '?', verifyLines.at(-1)),
      `Machine before the run: ${quiet.quiet ? 'quiet' : 'busy'} (idle ${fixed(quiet.idleShare * 100)} % of ${coreCount} cores, load ${fixed(quiet.load1, 2)}).`,
    ]
    appendResults('ledger', figuresOf(rounds, { hotSync, batched, byPgbench }, verified), notes)
  } finally {
    await setup.pool.end()
    await dropDatabase(ledgerDatabase)
    await dropDatabase(pgbenchDatabase)
  }
}

if (isMainThread) await main()
else parentPort?.postMessage(await runClientThread(workerData as WorkerInput))
