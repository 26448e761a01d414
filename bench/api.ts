import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { limits } from '../server/src/config/limits.ts'
import type { TargetRun } from './api/invoices.ts'
import { benchInvoices, invoiceDatabase } from './api/invoices.ts'
import { waitForQuietMachine } from './api/setup.ts'
import { benchWebhooks, type DeliveryRun, goalRatePerSecond, webhookDatabase } from './api/webhooks.ts'
import { coreCount } from './machine.ts'
import { appendResults, type BenchFigure } from './results.ts'

// `npm run bench -- api` (issue 5): the HTTP API and webhook delivery against baselines measured in the
// same run, on loopback, against the PostgreSQL server at 127.0.0.1:5432 (scratch databases).
//  1. POST /v1/invoices through the real API (own process, production pool and log level) with autocannon
//     at 32 connections, vs a bare Fastify route doing one INSERT. Goals: ≥ 0.6 × baseline, p99 ≤ 25 ms.
//  2. Events recorded in committed transactions while 2 worker processes (JobRunner: dispatch-event
//     + deliver-webhook) deliver them to a local receiver, vs the receiver hit directly at the same
//     concurrency. Goal (tested by the paced run): events offered at 1,050/s (5 % above the goal: bench/api/webhooks.ts) for 12 s; ≥ 1,000 deliveries/s
//     (delivered events ÷ first commit → last first attempt received) and p99 commit → first attempt
//     received ≤ 200 ms in that same run. The flat run (5,000 events recorded as fast as the recorder goes)
//     is the capacity figure, without a goal.
// Options: --duration S (15), --rounds N (2), --events N (5000, the flat run; 0 skips it), --paced-rate R
// (1050: the goal run's offered events/s), --paced-seconds S (12), --log-level L (info, the gateway's
// default), --quiet-wait S (120: longest wait for an idle machine before starting), --only
// invoices|webhooks, --profile (--cpu-prof of every server and worker process, written to a temporary
// directory; summarise with bench/api/profile-summary.ts), --trace (time every SQL statement), --dry.
// Partial and diagnostic runs (--only, --profile, --trace, --dry, a goal run not at the goal rate or
// shorter than 10 s, no flat run) print and do not append.
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
    events: { type: 'string', default: '5000' },
    'paced-rate': { type: 'string', default: String(goalRatePerSecond) },
    'paced-seconds': { type: 'string', default: '12' },
    'log-level': { type: 'string', default: 'info' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    dry: { type: 'boolean', default: false },
    'quiet-wait': { type: 'string', default: '120' },
  },
})
const durationSeconds = Number.parseInt(values.duration, 10)
const rounds = Number.parseInt(values.rounds, 10)
const events = Number.parseInt(values.events, 10)
const pacedRate = Number.parseInt(values['paced-rate'], 10)
const pacedSeconds = Number.parseFloat(values['paced-seconds'])
if (!(pacedRate > 0 && pacedSeconds > 0)) throw new Error('--paced-rate and --paced-seconds must be positive')
const cpuProfileDir = values.profile ? mkdtempSync(join(tmpdir(), 'sluice-bench-api-prof-')) : undefined
/** The goal run as issue 5 states it: offered at the goal rate, for at least 10 s. */
const goalRun = pacedRate === goalRatePerSecond && pacedSeconds >= 10
const diagnostic =
  values.profile || values.trace || values.dry || values.only !== undefined || !goalRun || events === 0

// The machine and the PostgreSQL server are shared: wait (bounded) for a quiet moment, and say in the
// notes how quiet it was.
const quiet = await waitForQuietMachine([invoiceDatabase, webhookDatabase], {
  quietMs: 5_000,
  timeoutMs: Number.parseInt(values['quiet-wait'], 10) * 1000,
  idleShareMin: 0.6,
})
if (!quiet.quiet) console.error('warning: the machine stayed busy; figures will be low')

const ms = (value: number) => value.toFixed(1)
const mean = (list: readonly number[]) =>
  list.reduce((sum, value) => sum + value, 0) / Math.max(list.length, 1)
const waitsText = (waits: Record<string, number>) =>
  Object.entries(waits)
    .filter(([, value]) => value >= 0.05)
    .map(([wait, value]) => `${wait} ${value.toFixed(1)}`)
    .join(', ')

/** Where one target's CPU went: per request (server process, its PostgreSQL backends) and the machine. */
function targetText(run: TargetRun): string {
  const perRequest = (msPerSecond: number) => (msPerSecond / Math.max(run.load.okPerSecond, 1e-9)).toFixed(2)
  const others =
    run.phase.machineBusyShare * coreCount * 1000 -
    run.server.cpuMsPerSecond -
    run.phase.postgresCpuMsPerSecond -
    run.phase.benchCpuMsPerSecond
  return [
    `${run.load.okPerSecond.toFixed(0)}/s, p50 ${ms(run.load.p50Ms)} p99 ${ms(run.load.p99Ms)} ms`,
    `CPU per request ${perRequest(run.server.cpuMsPerSecond)} ms server + ${perRequest(run.phase.postgresCpuMsPerSecond)} ms PostgreSQL`,
    `server loop ${(run.server.eventLoopUtilization * 100).toFixed(0)} %, pool waiters mean ${run.server.poolWaitingMean.toFixed(1)} max ${run.server.poolWaitingMax}`,
    `machine ${(run.phase.machineBusyShare * 100).toFixed(0)} % busy, ${(run.phase.machineStealShare * 100).toFixed(0)} % stolen by the host (autocannon ${run.phase.benchCpuMsPerSecond.toFixed(0)} ms/s, other processes ≈ ${Math.max(0, others).toFixed(0)} ms/s; other databases' active backends ${run.phase.otherActiveBackends.toFixed(1)})`,
    ...(run.batches === undefined
      ? []
      : [
          `${run.batches.requests} invoices in ${run.batches.statements} batched statements (${(run.batches.requests / Math.max(run.batches.statements, 1)).toFixed(1)} per statement, ADR 0028)`,
        ]),
  ].join(', ')
}

function invoiceFigures(result: Awaited<ReturnType<typeof benchInvoices>>) {
  const apiRate = mean(result.api.map((run) => run.load.okPerSecond))
  const baseRate = mean(result.baseline.map((run) => run.load.okPerSecond))
  const ratio = mean(
    result.api.map((run, index) => run.load.okPerSecond / (result.baseline[index]?.load.okPerSecond ?? 1)),
  )
  const apiP99 = Math.max(...result.api.map((run) => run.load.p99Ms))
  const baseP99 = Math.max(...result.baseline.map((run) => run.load.p99Ms))
  const count = (runs: TargetRun[], pick: (run: TargetRun) => number) =>
    runs.reduce((sum, run) => sum + pick(run), 0)
  const figures: BenchFigure[] = [
    {
      name: `invoices: POST /v1/invoices 2xx/s, ${result.connections} connections (mean of ${result.api.length} × ${durationSeconds} s)`,
      value: apiRate.toFixed(0),
    },
    { name: 'invoices: baseline, bare Fastify route + one INSERT, 2xx/s', value: baseRate.toFixed(0) },
    {
      name: 'invoices: API / baseline (mean of per-round ratios)',
      value: ratio.toFixed(2),
      goal: '≥ 0.60',
      met: ratio >= 0.6,
    },
    {
      name: 'invoices: API p99 latency, ms (worst round)',
      value: ms(apiP99),
      goal: '≤ 25',
      met: apiP99 <= 25,
    },
    {
      name: 'invoices: API p50 latency, ms (mean)',
      value: ms(mean(result.api.map((run) => run.load.p50Ms))),
    },
    {
      name: 'invoices: baseline p99 / p50 latency, ms',
      value: `${ms(baseP99)} / ${ms(mean(result.baseline.map((run) => run.load.p50Ms)))}`,
    },
    {
      name: 'invoices: non-2xx / socket errors, API (baseline)',
      value: `${count(result.api, (run) => run.load.non2xx)} / ${count(result.api, (run) => run.load.errors)} (${count(result.baseline, (run) => run.load.non2xx)} / ${count(result.baseline, (run) => run.load.errors)})`,
      goal: '0',
      met: count([...result.api, ...result.baseline], (run) => run.load.non2xx + run.load.errors) === 0,
    },
  ]
  const notes = [
    ...result.api.flatMap((run, index) => {
      const base = result.baseline[index] as TargetRun
      return [
        `invoices round ${index + 1}: API ${targetText(run)}; baseline ${targetText(base)}`,
        `invoices round ${index + 1} PostgreSQL backends by wait (mean active): API ${waitsText(run.phase.waits)}; baseline ${waitsText(base.phase.waits)}`,
      ]
    }),
    `invoices stored ${result.invoicesStored} (incl. warm-ups and the probe), baseline rows ${result.baselineRowsStored}; API pool ${limits.dbPoolSizeMax} connections (createPool default), log level ${values['log-level']}; API status codes ${JSON.stringify(result.api.map((run) => run.load.statusCounts))}`,
  ]
  return { figures, notes }
}

function deliveryNotes(label: string, run: DeliveryRun): string[] {
  const stage = (name: keyof DeliveryRun['stages']) =>
    `${ms(run.stages[name].p50)} / ${ms(run.stages[name].p99)}`
  const workerCpu = run.runners.reduce((sum, window) => sum + window.cpuMsPerSecond, 0)
  const others =
    run.phase.machineBusyShare * coreCount * 1000 -
    workerCpu -
    run.phase.postgresCpuMsPerSecond -
    run.phase.benchCpuMsPerSecond
  const perEvent = (msPerSecond: number) => (msPerSecond / Math.max(run.deliveriesPerSecond, 1e-9)).toFixed(2)
  const worker = (window: DeliveryRun['runners'][number]) => {
    const jobs = (kind: string) => window.extra[`${kind} jobs`] ?? 0
    const mean = (kind: string) => (window.extra[`${kind} ms`] ?? 0) / Math.max(jobs(kind), 1)
    const batches = window.extra['dispatch-event batches'] ?? 0
    const perBatch = (window.extra['dispatch-event ms'] ?? 0) / Math.max(batches, 1)
    return `CPU ${window.cpuMsPerSecond.toFixed(0)} ms/s, loop ${(window.eventLoopUtilization * 100).toFixed(0)} %, dispatch-event ${jobs('dispatch-event')} jobs in ${batches} batches × ${ms(perBatch)} ms, deliver-webhook ${jobs('deliver-webhook')} jobs × ${ms(mean('deliver-webhook'))} ms`
  }
  return [
    `${label}: ${run.delivered}/${run.events} delivered; recorded ${run.recordedPerSecond.toFixed(0)} events/s with ${run.recorderWakeUps} wake-up statements; ${run.deliveriesPerSecond.toFixed(0)} deliveries/s (${ms(run.seconds)} s from first commit to last first attempt); latency p50 ${ms(run.latencyP50Ms)} p99 ${ms(run.latencyP99Ms)} max ${ms(run.latencyMaxMs)} ms`,
    `${label} stages p50 / p99 ms: commit → fan-out start ${stage('commitToFanOut')}; fan-out start → attempt start ${stage('fanOutToAttempt')}; attempt start → received ${stage('attemptToReceived')}`,
    `${label} workers (handler time, not counting the runner's claim and delete): ${run.runners.map(worker).join(' | ')}`,
    `${label} CPU per event: ${perEvent(workerCpu)} ms workers + ${perEvent(run.phase.postgresCpuMsPerSecond)} ms PostgreSQL (workers and recorder backends) + ${perEvent(run.phase.benchCpuMsPerSecond)} ms bench process; machine ${(run.phase.machineBusyShare * 100).toFixed(0)} % busy, ${(run.phase.machineStealShare * 100).toFixed(0)} % stolen by the host, other processes ≈ ${Math.max(0, others).toFixed(0)} ms/s, other databases' active backends ${run.phase.otherActiveBackends.toFixed(1)}`,
    `${label} largest job backlog: ${JSON.stringify(run.backlogMax)}; PostgreSQL backends by wait (mean active): ${waitsText(run.phase.waits)}`,
  ]
}

function webhookFigures(result: Awaited<ReturnType<typeof benchWebhooks>>) {
  const { flat, paced, baseline } = result
  const atGoalRate = paced.pacedRate === goalRatePerSecond
  const pacedName = `webhooks, paced run (${paced.events} events offered at ${paced.pacedRate}/s)`
  const flatName = `webhooks, flat run (capacity: ${flat?.events ?? 0} events recorded as fast as ${result.recorderConnections} connections go)`
  // The goal is judged on the paced run only, and only when it was offered at the goal rate.
  const figures: BenchFigure[] = [
    {
      name: `${pacedName}: deliveries/s (delivered events ÷ first commit → last first attempt received)`,
      value: paced.deliveriesPerSecond.toFixed(0),
      goal: '≥ 1000',
      ...(atGoalRate ? { met: paced.deliveriesPerSecond >= 1000 && paced.delivered === paced.events } : {}),
    },
    {
      name: `${pacedName}: p99 commit → first attempt received, ms`,
      value: ms(paced.latencyP99Ms),
      goal: '≤ 200',
      ...(atGoalRate ? { met: paced.latencyP99Ms <= 200 && paced.delivered === paced.events } : {}),
    },
    { name: `${pacedName}: p50 commit → first attempt received, ms`, value: ms(paced.latencyP50Ms) },
    { name: `${pacedName}: delivered / offered`, value: `${paced.delivered} / ${paced.events}` },
    { name: `${pacedName}: events recorded/s`, value: paced.recordedPerSecond.toFixed(0) },
  ]
  if (flat !== undefined)
    figures.push(
      {
        name: `${flatName}: deliveries/s (delivered events ÷ first commit → last first attempt received)`,
        value: flat.deliveriesPerSecond.toFixed(0),
      },
      {
        name: `${flatName}: p50 / p99 commit → first attempt received, ms`,
        value: `${ms(flat.latencyP50Ms)} / ${ms(flat.latencyP99Ms)}`,
      },
      { name: `${flatName}: events recorded/s`, value: flat.recordedPerSecond.toFixed(0) },
      {
        name: `webhooks: baseline, direct POSTs to the receiver/s (${result.concurrency} concurrent)`,
        value: baseline.perSecond.toFixed(0),
      },
      {
        name: 'webhooks, flat run: deliveries/s ÷ baseline',
        value: (flat.deliveriesPerSecond / baseline.perSecond).toFixed(2),
      },
    )
  const notes = [
    `webhooks: ${result.runnerCount} worker processes × jobConcurrencyMax ${limits.jobConcurrencyMax}; baseline ${baseline.perSecond.toFixed(0)}/s, p99 ${ms(baseline.p99Ms)} ms; receiver got ${result.receivedTotal} requests in all`,
    ...deliveryNotes(`webhooks (paced ${paced.pacedRate}/s, goal run)`, paced),
    ...(flat === undefined ? [] : deliveryNotes('webhooks (flat, as fast as recorded)', flat)),
  ]
  return { figures, notes }
}

const figures: BenchFigure[] = []
const notes: string[] = [
  `quiet check before the run: waited ${(quiet.waitedMs / 1000).toFixed(0)} s; ${quiet.quiet ? 'quiet' : 'still busy'} (CPU ${(quiet.idleShare * 100).toFixed(0)} % idle, load average ${quiet.load1.toFixed(1)}); the machine and PostgreSQL are shared with other work, so the per-phase notes give the machine's busy share and other processes' CPU`,
]
const traces: Record<string, unknown> = {}
if (values.only !== 'webhooks') {
  const invoices = await benchInvoices({
    durationSeconds,
    warmupSeconds: 2,
    rounds,
    logLevel: values['log-level'],
    cpuProfileDir,
    trace: values.trace,
  })
  const part = invoiceFigures(invoices)
  figures.push(...part.figures)
  notes.push(...part.notes)
  traces.api = invoices.apiQueries
  traces.baseline = invoices.baselineQueries
}
if (values.only !== 'invoices') {
  const webhooks = await benchWebhooks({
    events,
    deadlineMs: 300_000,
    logLevel: values['log-level'],
    cpuProfileDir,
    trace: values.trace,
    pacedRate,
    pacedSeconds,
  })
  const part = webhookFigures(webhooks)
  figures.push(...part.figures)
  notes.push(...part.notes)
  traces.runners = webhooks.runnerStats
}
if (diagnostic) {
  // Profiling and tracing slow the servers, and a partial run is not the benchmark: print only.
  console.log(JSON.stringify({ figures, notes }, null, 2))
  if (values.trace) console.log(JSON.stringify(traces, null, 2))
  if (cpuProfileDir !== undefined) console.log(`CPU profiles in ${cpuProfileDir}`)
} else appendResults('api', figures, notes)
