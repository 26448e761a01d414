import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { baseChildEnvironment } from '../config/env.ts'
import { findFreePort } from '../lib/free-port.ts'

export type AnvilOptions = {
  chainId: number
  /** Seconds between blocks; undefined mines a block per transaction (automine). */
  blockTimeSeconds?: number | undefined
  /** anvil's `finalized` tag trails the head by 2 × slots (see docs/adr/0005-devnet.md). */
  slotsInAnEpoch?: number | undefined
  port?: number | undefined
  /** Load chain state from this file at start and dump it there periodically and at exit. */
  statePath?: string | undefined
  /** Records the process id here, so a later start can stop an anvil orphaned by a `kill -9`. */
  pidPath?: string | undefined
}

export type AnvilInstance = {
  chainId: number
  port: number
  rpcUrl: string
  wsUrl: string
  stop: () => Promise<void>
}

const anvilStartTimeoutMs = 15_000

/** Path of the anvil binary shipped inside the npm package (nothing is downloaded). */
export function anvilBinaryPath(): string {
  const require = createRequire(import.meta.url)
  const packageJson = require.resolve('@foundry-rs/anvil-linux-amd64/package.json')
  return packageJson.replace(/package\.json$/, 'bin/anvil')
}

function anvilArguments(options: AnvilOptions, port: number): string[] {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(options.chainId)]
  args.push('--slots-in-an-epoch', String(options.slotsInAnEpoch ?? 1))
  if (options.blockTimeSeconds !== undefined) args.push('--block-time', String(options.blockTimeSeconds))
  if (options.statePath !== undefined) args.push('--state', options.statePath, '--state-interval', '5')
  args.push('--silent')
  return args
}

/**
 * Starts one anvil chain on loopback and resolves once it answers JSON-RPC. Each anvil gets a HOME of its
 * own, removed when it stops: anvil writes the historical states it cannot keep in memory under
 * `$HOME/.foundry/anvil/tmp` and never removes them, whatever signal stops it (measured: a CI run left
 * ~3.5 GB, a deposits bench ~6.9 GB, and a day's runs filled 56 GB of a disk).
 */
export async function startAnvil(options: AnvilOptions): Promise<AnvilInstance> {
  if (options.pidPath !== undefined) await stopOrphanedAnvil(options.pidPath)
  const port = options.port ?? (await findFreePort())
  const home = mkdtempSync(join(tmpdir(), 'sluice-anvil-home-'))
  const child = spawn(anvilBinaryPath(), anvilArguments(options, port), {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Nothing of the gateway's environment (master key, database URL) reaches anvil: a PATH and its HOME.
    env: { ...baseChildEnvironment(), HOME: home },
  })
  const removeHome = () => rmSync(home, { recursive: true, force: true })
  child.once('exit', removeHome)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const rpcUrl = `http://127.0.0.1:${port}`
  await waitForRpc(rpcUrl, child, () => stderr)
  // The HOME goes with the pid: a later start that stops this anvil as an orphan removes it too.
  if (options.pidPath !== undefined && child.pid !== undefined)
    writeFileSync(options.pidPath, `${child.pid}\n${home}`)
  return {
    chainId: options.chainId,
    port,
    rpcUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    stop: () => stopChild(child),
  }
}

async function waitForRpc(rpcUrl: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + anvilStartTimeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${stderr()}`)
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      if (response.ok) return
    } catch {
      // Not listening yet: retry until the deadline.
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`anvil did not answer on ${rpcUrl} within ${anvilStartTimeoutMs} ms: ${stderr()}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function isAnvilProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('anvil')
  } catch {
    return false
  }
}

/** A gateway killed with SIGKILL leaves its anvil children running; stop them before starting anew. */
export async function stopOrphanedAnvil(pidPath: string): Promise<void> {
  if (!existsSync(pidPath)) return
  const [pidText, home] = readFileSync(pidPath, 'utf8').split('\n')
  const pid = Number.parseInt(pidText ?? '', 10)
  rmSync(pidPath, { force: true })
  if (Number.isInteger(pid) && pid > 0 && isAnvilProcess(pid)) {
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + 10_000
    while (isAnvilProcess(pid) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
  }
  // Only a HOME this module made (a pid file is ours, but it sits in a data directory anyone may edit).
  if (home?.startsWith(join(tmpdir(), 'sluice-anvil-home-'))) rmSync(home, { recursive: true, force: true })
}
