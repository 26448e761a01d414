import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export class InstanceLockedError extends Error {
  override readonly name = 'InstanceLockedError'
}

function isLiveNode(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node')
  } catch {
    return false
  }
}

/**
 * One gateway per data directory: the embedded database and devnet chains in it belong to one process.
 * A lock left by a killed process (its pid no longer a live node process) is taken over.
 */
export function acquireInstanceLock(dataDir: string): () => void {
  const path = join(dataDir, 'gateway.pid')
  if (existsSync(path)) {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    if (Number.isInteger(pid) && pid !== process.pid && isLiveNode(pid)) {
      throw new InstanceLockedError(`another Sluice gateway (pid ${pid}) is running with ${dataDir}`)
    }
  }
  writeFileSync(path, String(process.pid))
  return () => rmSync(path, { force: true })
}
