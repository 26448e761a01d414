import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import { repositoryDirectory } from '../../lib/package-root.ts'
import {
  sanctionsFileUnsupported,
  sanctionsNoListFiles,
  sanctionsPathNotFound,
  sanctionsTooManyFiles,
} from './sanction.errors.ts'
import { sanctionLimits } from './sanction.limits.ts'
import type { ListFile, SkippedFile } from './sanction.types.ts'

// Resolved from the repository, not the cwd, so `sluice sanctions import` works from any directory:
// data/sanctions holds the vendored OFAC lists (provenance in data/sanctions/SOURCE.md), so a fresh clone
// screens without anything beside it.
export const defaultSanctionsDirectory = join(repositoryDirectory, 'data', 'sanctions')

/**
 * What `import` loads without arguments: the complete 2024 OFAC snapshot, then the newer partial set,
 * whose ETH/TRX/SOL lists supersede the 2024 ones (they post-date the March 2025 Tornado Cash delisting;
 * see SOURCE.md there). Later paths win for the same list, so the delisted addresses are never active.
 */
export function defaultSanctionsPaths(): string[] {
  const newer = join(defaultSanctionsDirectory, 'ofac-17121db')
  return existsSync(newer) ? [defaultSanctionsDirectory, newer] : [defaultSanctionsDirectory]
}

const conventionalName = /^sanctioned_addresses_([A-Za-z0-9]+)\.(txt|json)$/

/** The list a file is a version of: its name without extension; the ticker comes from the OFAC naming. */
export function describeListFile(path: string): ListFile {
  const extension = extname(path)
  if (extension !== '.txt' && extension !== '.json') throw sanctionsFileUnsupported(path)
  const name = basename(path)
  const ticker = conventionalName.exec(name)?.[1]?.toUpperCase() ?? null
  return {
    path: resolve(path),
    source: basename(name, extension),
    ticker,
    kind: extension === '.txt' ? 'txt' : 'json',
  }
}

/** List files directly in a directory (not recursive); a `.json` twin of a `.txt` list is skipped. */
function listDirectory(directory: string, skipped: SkippedFile[]): ListFile[] {
  const files = readdirSync(directory)
    .filter((name) => conventionalName.test(name))
    .sort()
    .map((name) => describeListFile(join(directory, name)))
  const textBySource = new Map(
    files.filter((file) => file.kind === 'txt').map((file) => [file.source, file.path]),
  )
  return files.filter((file) => {
    const text = textBySource.get(file.source)
    if (file.kind === 'txt' || text === undefined) return true
    skipped.push({ path: file.path, reason: 'json-twin', insteadOf: text })
    return false
  })
}

/**
 * Expands paths (files or directories) into list files, one per source: when several paths carry the same
 * list, the last one given wins, so `import old/ new/` makes the newer version the active one in one run.
 */
export function resolveListFiles(paths: readonly string[]): { files: ListFile[]; skipped: SkippedFile[] } {
  const skipped: SkippedFile[] = []
  const found: ListFile[] = []
  for (const path of paths) {
    if (!existsSync(path)) throw sanctionsPathNotFound(path)
    if (statSync(path).isDirectory()) found.push(...listDirectory(path, skipped))
    else found.push(describeListFile(path))
  }
  const lastBySource = new Map<string, ListFile>()
  for (const file of found) lastBySource.set(file.source, file)
  const files = found.filter((file) => {
    const winner = lastBySource.get(file.source) ?? file
    if (winner === file) return true
    skipped.push({ path: file.path, reason: 'superseded', insteadOf: winner.path })
    return false
  })
  if (files.length === 0) throw sanctionsNoListFiles(paths)
  if (files.length > sanctionLimits.filesPerImportMax) throw sanctionsTooManyFiles(files.length)
  return { files, skipped }
}
