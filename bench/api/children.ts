import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

/**
 * Messages a benchmark child sends its parent over IPC: `ready` once, a `snapshot` per request (counters
 * since start, so the parent takes differences around a measured window), `stats` once on stop.
 */
export type ChildMessage =
  | { kind: 'ready'; port?: number }
  | { kind: 'snapshot'; snapshot: ChildSnapshot }
  | { kind: 'stats'; stats: unknown }

/** Cumulative process counters; `poolWaitingMax` is the maximum since the previous snapshot. */
export type ChildSnapshot = {
  cpuUserMs: number
  cpuSystemMs: number
  loopActiveMs: number
  loopIdleMs: number
  poolSamples: number
  poolWaitingSum: number
  poolWaitingMax: number
  extra: Record<string, number>
}

export type ChildWindow = {
  /** CPU time of the child over the window, ms per second of wall time (1000 = one core busy). */
  cpuMsPerSecond: number
  eventLoopUtilization: number
  poolWaitingMean: number
  poolWaitingMax: number
  extra: Record<string, number>
}

export function windowBetween(before: ChildSnapshot, after: ChildSnapshot, seconds: number): ChildWindow {
  const active = after.loopActiveMs - before.loopActiveMs
  const idle = after.loopIdleMs - before.loopIdleMs
  const samples = after.poolSamples - before.poolSamples
  const extra: Record<string, number> = {}
  for (const [key, value] of Object.entries(after.extra)) extra[key] = value - (before.extra[key] ?? 0)
  return {
    cpuMsPerSecond:
      (after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs) / Math.max(seconds, 1e-9),
    eventLoopUtilization: active + idle === 0 ? 0 : active / (active + idle),
    poolWaitingMean: samples === 0 ? 0 : (after.poolWaitingSum - before.poolWaitingSum) / samples,
    poolWaitingMax: after.poolWaitingMax,
    extra,
  }
}

export type BenchChild = {
  child: ChildProcess
  port: number | undefined
  snapshot: () => Promise<ChildSnapshot>
  /** Asks the child to drain and exit; resolves with what it reported. */
  stop: () => Promise<unknown>
}

/**
 * Starts bench/api/<file> in its own Node process (tsx loader, IPC channel). stdout goes to /dev/null: the
 * gateway logs there at its production level, and writing the lines is part of what it costs.
 * `cpuProfileDir` adds --cpu-prof (the profile is written when the child exits).
 */
export async function startChild(
  file: string,
  args: readonly string[],
  options: { cpuProfileDir?: string | undefined } = {},
): Promise<BenchChild> {
  const profiling =
    options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]
  const child = fork(join(import.meta.dirname, file), [...args], {
    execArgv: ['--import', 'tsx', ...profiling],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const inbox: ChildMessage[] = []
  let wake: (() => void) | undefined
  child.on('message', (message: ChildMessage) => {
    inbox.push(message)
    wake?.()
  })
  child.on('exit', () => wake?.())
  const take = async <K extends ChildMessage['kind']>(
    kind: K,
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { kind: K }>> => {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const index = inbox.findIndex((message) => message.kind === kind)
      if (index >= 0) return inbox.splice(index, 1)[0] as Extract<ChildMessage, { kind: K }>
      if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode} before '${kind}'`)
      if (performance.now() > deadline) throw new Error(`${file}: no '${kind}' within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = undefined
    }
  }
  const ready = await take('ready', 60_000)
  return {
    child,
    port: ready.port,
    snapshot: async () => {
      child.send({ kind: 'snapshot' })
      return (await take('snapshot', 10_000)).snapshot
    },
    stop: async () => {
      const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve()
      child.send({ kind: 'stop' })
      const { stats } = await take('stats', 60_000)
      await exited
      return stats
    },
  }
}

/**
 * Child side: answers snapshot requests from `sample` (plus the pool's waiting count, sampled every 10 ms)
 * and resolves `stopped` when the parent asks this process to stop (or goes away).
 */
export function childControl(
  pool: { waitingCount: number },
  extra: () => Record<string, number> = () => ({}),
) {
  const cpuStart = process.cpuUsage()
  const loopStart = performance.eventLoopUtilization()
  let poolSamples = 0
  let poolWaitingSum = 0
  let poolWaitingMax = 0
  const sampler = setInterval(() => {
    poolSamples += 1
    poolWaitingSum += pool.waitingCount
    poolWaitingMax = Math.max(poolWaitingMax, pool.waitingCount)
  }, 10)
  sampler.unref()
  const snapshot = (): ChildSnapshot => {
    const cpu = process.cpuUsage(cpuStart)
    const loop = performance.eventLoopUtilization(loopStart)
    const taken = {
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      loopActiveMs: loop.active,
      loopIdleMs: loop.idle,
      poolSamples,
      poolWaitingSum,
      poolWaitingMax,
      extra: extra(),
    }
    poolWaitingMax = 0
    return taken
  }
  const stopped = new Promise<void>((resolve) => {
    process.on('message', (message: { kind?: string }) => {
      if (message.kind === 'stop') resolve()
      if (message.kind === 'snapshot') void sendToParent({ kind: 'snapshot', snapshot: snapshot() })
    })
    // The parent died: stop too rather than linger.
    process.on('disconnect', () => resolve())
  })
  return {
    stopped,
    finish: async (stats: unknown) => {
      clearInterval(sampler)
      await sendToParent({ kind: 'stats', stats })
      process.disconnect()
    },
  }
}

export function sendToParent(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('not started with an IPC channel'))
      return
    }
    process.send(message, (error: Error | null) => (error === null ? resolve() : reject(error)))
  })
}
