import pg from 'pg'
import type { NetworkConfig } from '../../server/src/config/config.types.ts'
import { createPool } from '../../server/src/db/pool.ts'
import { ChainWatcher } from '../../server/src/jobs/chain-watcher.ts'
import { createLogger } from '../../server/src/lib/logger.ts'
import { machineCpu } from '../machine.ts'

// Runs in its own process so its peak RSS is the watcher's alone: loads the watch set, catches a cursor up
// to the head and prints {loadMs, loadCpuMs, elapsedMs, ticks, tickMs, cpuMs, machineBusyMs, eventLoopUtilization, maxRssMiB} as JSON (cpuMs: the watcher process's own CPU; machineBusyMs: all processes'). With --profile it also prints where the time went
// (each SQL statement and RPC method: count and summed duration; concurrent ones overlap).
const [databaseUrl, networkJson, ...flags] = process.argv.slice(2)
const profiling = flags.includes('--profile')
const network = JSON.parse(networkJson ?? '{}') as NetworkConfig
const profile = new Map<string, { count: number; ms: number }>()
function timed<T>(label: string, promise: Promise<T>): Promise<T> {
  const begun = performance.now()
  const end = () => {
    const entry = profile.get(label) ?? { count: 0, ms: 0 }
    entry.count += 1
    entry.ms += performance.now() - begun
    profile.set(label, entry)
  }
  promise.then(end, end)
  return promise
}
if (profiling) {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const result = query.apply(this, args)
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '?')
    const label = `sql ${text.replace(/\s+/g, ' ').slice(0, 70)}`
    return result instanceof Promise ? timed(label, result) : result
  } as typeof pg.Client.prototype.query
}
const pool = createPool(databaseUrl ?? '', { sizeMax: 4 })
const watcher = new ChainWatcher({ pool, network, logger: createLogger('warn'), workerId: 'bench' })
if (profiling) {
  const call = watcher.rpc.call.bind(watcher.rpc)
  watcher.rpc.call = ((method: string, ...rest: unknown[]) =>
    timed(`rpc ${method}`, (call as (...a: unknown[]) => Promise<unknown>)(method, ...rest))) as typeof call
}
// The watch set is loaded first and timed on its own: a one-off cost of a watcher's start (a running
// watcher that falls behind, after an RPC outage say, has it in memory), not a cost per block. The
// catch-up after it is the throughput figure; the two together bound a cold start's (which overlaps them).
const loadStarted = performance.now()
const loadCpuBefore = process.cpuUsage()
await watcher.loadWatchSet()
const loadMs = performance.now() - loadStarted
const loadCpu = process.cpuUsage(loadCpuBefore)
const loadCpuMs = (loadCpu.user + loadCpu.system) / 1000
const machineBefore = machineCpu()
const started = performance.now()
const cpuBefore = process.cpuUsage()
const eluBefore = performance.eventLoopUtilization()
let ticks = 0
const tickMs: number[] = []
for (;;) {
  ticks += 1
  const tickStarted = performance.now()
  const result = await watcher.tick()
  tickMs.push(Math.round(performance.now() - tickStarted))
  if (result === 'caught-up') break
}
const elapsedMs = performance.now() - started
const machineAfter = machineCpu()
const cpuUsed = process.cpuUsage(cpuBefore)
const eventLoopUtilization = performance.eventLoopUtilization(eluBefore).utilization
const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000
// Every process's CPU (anvil, PostgreSQL, this one, anything else), steal excluded: /proc/stat counts
// in USER_HZ ticks of 10 ms on Linux. Divided by the cores, it is the shortest the catch-up could take
// with every core busy throughout.
const machineBusyMs = (machineAfter.busy - machineBefore.busy) * 10
process.stderr.write(`tick durations (ms): ${tickMs.join(', ')}\n`)
for (const [label, entry] of [...profile].sort((a, b) => b[1].ms - a[1].ms))
  process.stderr.write(
    `  ${entry.ms.toFixed(0).padStart(6)} ms ${String(entry.count).padStart(5)}× ${label}\n`,
  )
await pool.end()
process.stdout.write(
  `${JSON.stringify({ loadMs, loadCpuMs, elapsedMs, ticks, tickMs, cpuMs, machineBusyMs, eventLoopUtilization, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
)
