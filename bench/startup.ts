import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { baseChildEnvironment } from '../server/src/config/env.ts'
import { findFreePort } from '../server/src/lib/free-port.ts'
import { appendResults } from './results.ts'

// `npm run bench -- startup`: time from `npm start` to a green /readyz (cold: empty data directory;
// warm: restart on the same one) and the gateway process's idle RSS (PostgreSQL and anvil excluded).
// Baseline, measured in the same run: `npm exec` of a bare Node HTTP server answering /readyz, so the
// ratio shows what Sluice adds on top of starting Node through npm on this machine right now.
const root = join(import.meta.dirname, '..')
const runs = 3

async function waitForOk(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`)
    try {
      if ((await fetch(url)).status === 200) return
    } catch {
      // not yet listening
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`${url} not ready in ${timeoutMs} ms`)
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  await new Promise((resolve) => {
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'))
  return Number.parseInt(line?.replace(/\D+/g, '') ?? '0', 10) / 1024
}

/** The last child's last child…: npm exec runs the script through a shell, so the node server is a grandchild. */
function deepestDescendant(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
  const last = Number.parseInt(children.split(' ').pop() ?? '', 10)
  return Number.isNaN(last) ? pid : deepestDescendant(last)
}

async function timeBaseline(): Promise<{ readyMs: number; rssMiB: number }> {
  const port = await findFreePort()
  const script = `require('node:http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')`
  const started = performance.now()
  const child = spawn('npm', ['exec', '--', 'node', '-e', script], {
    cwd: root,
    env: baseChildEnvironment(),
    stdio: 'ignore',
    detached: true,
  })
  await waitForOk(`http://127.0.0.1:${port}/`, child, 30_000)
  const readyMs = performance.now() - started
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const rss = rssMiB(deepestDescendant(child.pid ?? 0))
  process.kill(-(child.pid ?? 0), 'SIGTERM')
  return { readyMs, rssMiB: rss }
}

async function timeGateway(dataDir: string): Promise<{ readyMs: number; rssMiB: number }> {
  const port = await findFreePort()
  const started = performance.now()
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: {
      ...baseChildEnvironment(),
      SLUICE_DATA_DIR: dataDir,
      SLUICE_HTTP_PORT: String(port),
      SLUICE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  await waitForOk(`http://127.0.0.1:${port}/readyz`, child, 120_000).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${stderr}`)
  })
  const readyMs = performance.now() - started
  await new Promise((resolve) => setTimeout(resolve, 5000)) // idle: let start-up garbage settle
  const gatewayPid = Number.parseInt(readFileSync(join(dataDir, 'gateway.pid'), 'utf8'), 10)
  const rss = rssMiB(gatewayPid)
  process.kill(gatewayPid, 'SIGTERM')
  await stop(child)
  return { readyMs, rssMiB: rss }
}

const mebibyte = 1_048_576
const megabyte = 1_000_000
/** RSS in MB (10^6 bytes, the goal's unit), MiB after it. */
const megabytes = (mebibytes: number) =>
  `${((mebibytes * mebibyte) / megabyte).toFixed(0)} (${mebibytes.toFixed(0)} MiB)`

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

const baseline: { readyMs: number; rssMiB: number }[] = []
const cold: { readyMs: number; rssMiB: number }[] = []
const warm: { readyMs: number; rssMiB: number }[] = []
for (let run = 0; run < runs; run += 1) {
  baseline.push(await timeBaseline())
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-bench-startup-'))
  chmodSync(dataDir, 0o755)
  cold.push(await timeGateway(dataDir))
  warm.push(await timeGateway(dataDir))
  // anvil may still be writing its final state dump for a moment after the gateway exits.
  try {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
  } catch {
    // left in the temp directory; harmless
  }
}
const baseReady = median(baseline.map((result) => result.readyMs))
const coldReady = median(cold.map((result) => result.readyMs))
const warmReady = median(warm.map((result) => result.readyMs))
const idleRss = median(warm.map((result) => result.rssMiB))
appendResults(
  'startup',
  [
    { name: 'baseline: npm exec node http server ready (ms)', value: baseReady.toFixed(0) },
    {
      name: 'npm start → /readyz 200, empty data dir (ms)',
      value: `${coldReady.toFixed(0)} (${(coldReady / baseReady).toFixed(1)}× baseline)`,
      goal: '≤ 8000',
      met: coldReady <= 8000,
    },
    {
      name: 'npm start → /readyz 200, restart (ms)',
      value: `${warmReady.toFixed(0)} (${(warmReady / baseReady).toFixed(1)}× baseline)`,
      goal: '≤ 8000',
      met: warmReady <= 8000,
    },
    {
      name: 'baseline node process RSS (MB)',
      value: megabytes(median(baseline.map((result) => result.rssMiB))),
    },
    {
      name: 'gateway idle RSS (MB)',
      value: megabytes(idleRss),
      goal: '≤ 200',
      met: idleRss * mebibyte <= 200 * megabyte,
    },
  ],
  [
    `median of ${runs} runs each; PostgreSQL and anvil processes are excluded from RSS`,
    'MB = 10^6 bytes, as the goal is written (MiB in brackets; entries before 2026-11-22T03:1xZ gave MiB against the same 200)',
  ],
)
