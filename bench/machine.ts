import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

// The machine's CPU as /proc/stat counts it, for the benches' notes. Its own module, with nothing else
// imported: the deposits bench's catch-up child reads it, and that child's peak RSS is a measured figure.

export const coreCount = cpus().length

/**
 * Jiffies of the whole machine from /proc/stat: busy (ours: not idle, iowait or steal), steal (time the
 * hypervisor gave our virtual CPUs to someone else) and total. Steal is kept apart: counted as busy, a
 * contended host read as "other processes" on our machine (bench/RESULTS.md, api at 01:40Z 2026-11-22).
 */
export function machineCpu(): { busy: number; steal: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map((field) => Number.parseInt(field, 10))
  const total = fields.reduce((sum, value) => sum + value, 0)
  const steal = fields[7] ?? 0
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0) - steal, steal, total }
}

type MachineCpu = ReturnType<typeof machineCpu>

/** Busy share of all cores between two machineCpu() readings (0..1), steal excluded. */
export const busyShare = (before: MachineCpu, after: MachineCpu) =>
  (after.busy - before.busy) / Math.max(after.total - before.total, 1)

/** Share of all cores the host took (steal) between two machineCpu() readings (0..1). */
export const stealShare = (before: MachineCpu, after: MachineCpu) =>
  (after.steal - before.steal) / Math.max(after.total - before.total, 1)
