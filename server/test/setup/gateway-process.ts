import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { inject } from 'vitest'
import { bundleDirectory } from '../../scripts/bundle.ts'
import { baseChildEnvironment } from '../../src/config/env.ts'
import { findFreePort } from '../../src/lib/free-port.ts'
import { testSecrets } from './leak-guard.ts'
import { suiteLogDirectory } from './suite-logs.ts'

export const serverDirectory = resolve(import.meta.dirname, '../..')

export type GatewayProcess = {
  child: ChildProcess
  apiUrl: string
  dataDir: string
  output: () => string
  errors: () => string
  waitForExit: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function keepLog(name: string, text: string): void {
  mkdirSync(suiteLogDirectory, { recursive: true })
  writeFileSync(join(suiteLogDirectory, `${name}.log`), text)
}

/**
 * A data directory for one gateway, inside the run's own directory (global-setup.ts), which is deleted
 * when the run ends: each holds an embedded PostgreSQL (~50 MB), and a full disk once failed a CI run.
 */
export function temporaryDataDir(): string {
  const directory = mkdtempSync(join(inject('runDirectory'), 'sluice-e2e-'))
  // As root, the embedded PostgreSQL runs as `postgres` and must traverse this directory.
  chmodSync(directory, 0o755)
  return directory
}

export function writeConfigFile(directory: string, config: unknown): string {
  const path = join(directory, 'sluice.config.json')
  writeFileSync(path, JSON.stringify(config))
  return path
}

/**
 * Runs an entry point (all-in-one, api, worker, migrate) as a real process, as `npm start` would: its
 * bundle (docs/adr/0025), built once per run by global-setup.ts, with plain node.
 */
export async function spawnGateway(
  entry: 'all-in-one' | 'api' | 'worker' | 'migrate',
  options: { dataDir?: string; env?: Record<string, string>; port?: number } = {},
): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? temporaryDataDir()
  const port = options.port ?? (await findFreePort())
  const child = spawn(process.execPath, [join(bundleDirectory, `${entry}.js`)], {
    cwd: serverDirectory,
    env: {
      ...baseChildEnvironment(),
      // A known test secret as the master key: the suite's leak check then proves it never reaches a log.
      SLUICE_MASTER_KEY: testSecrets.masterKeyHex,
      SLUICE_DATA_DIR: dataDir,
      SLUICE_HTTP_PORT: String(port),
      SLUICE_LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      keepLog(`gateway-${entry}-${child.pid}`, `${stdout}\n${stderr}`)
      resolveExit({ code, signal })
    })
  })
  return {
    child,
    apiUrl: `http://127.0.0.1:${port}`,
    dataDir,
    output: () => stdout,
    errors: () => stderr,
    waitForExit: async (timeoutMs = 60_000) => {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms\n${stderr}`)), timeoutMs),
      )
      return await Promise.race([exited, timeout])
    },
  }
}

/** Polls GET /readyz until 200 (or the process exits, or the deadline passes). */
export async function waitUntilReady(gateway: GatewayProcess, timeoutMs = 90_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (gateway.child.exitCode !== null)
      throw new Error(`gateway exited ${gateway.child.exitCode}: ${gateway.errors()}`)
    try {
      const response = await fetch(`${gateway.apiUrl}/readyz`)
      if (response.status === 200) return await response.json()
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }
  throw new Error(
    `not ready within ${timeoutMs} ms\nstdout: ${gateway.output().slice(-3000)}\nstderr: ${gateway.errors().slice(-3000)}`,
  )
}

/** Runs `npm run devnet -- …` the way a person would (same entry point, same environment). */
export async function runDevnetCli(
  dataDir: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/devnet-cli.ts', ...args], {
    cwd: serverDirectory,
    env: { ...baseChildEnvironment(), SLUICE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit))
  keepLog(`devnet-cli-${child.pid}`, `${stdout}\n${stderr}`)
  return { code, stdout, stderr }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
