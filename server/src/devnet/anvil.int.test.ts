import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startAnvil, stopOrphanedAnvil } from './anvil.ts'

// anvil writes the historical states it cannot keep in memory under $HOME/.foundry/anvil/tmp and never
// removes them (measured: 56 GB in a day of test runs). Each anvil gets its own HOME, removed with it.

const scratch = mkdtempSync(join(tmpdir(), 'sluice-anvil-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Mines enough blocks that anvil persists states to disk, and returns the HOME it writes them under. */
async function homeWithStates(rpcUrl: string, pid: number): Promise<string> {
  await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: ['0x1000'] }),
  })
  const home = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((entry) => entry.startsWith('HOME='))
    ?.slice('HOME='.length)
  expect(home).toMatch(/sluice-anvil-home-/)
  const states = join(home as string, '.foundry', 'anvil', 'tmp')
  await expect.poll(() => existsSync(states) && readdirSync(states).length > 0).toBe(true)
  return home as string
}

function anvilPid(pidPath: string): number {
  return Number.parseInt(readFileSync(pidPath, 'utf8').split('\n')[0] ?? '', 10)
}

describe('anvil leaves nothing on disk', () => {
  it('removes its HOME, with the states it persisted, when it stops', async () => {
    const pidPath = join(scratch, 'stopped.pid')
    const anvil = await startAnvil({ chainId: 31_337, pidPath })
    const home = await homeWithStates(anvil.rpcUrl, anvilPid(pidPath))
    await anvil.stop()
    await expect.poll(() => existsSync(home)).toBe(false)
  })

  it('removes an orphaned anvil HOME when a later start stops that anvil', async () => {
    const pidPath = join(scratch, 'orphan.pid')
    const orphan = await startAnvil({ chainId: 31_337, pidPath })
    const pid = anvilPid(pidPath)
    const home = await homeWithStates(orphan.rpcUrl, pid)
    await stopOrphanedAnvil(pidPath)
    expect(existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('anvil')).toBe(
      false,
    )
    expect(existsSync(home)).toBe(false)
    await orphan.stop()
  })
})
