import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { isAppError } from '../../lib/errors.ts'
import {
  sanctionsListEmpty,
  sanctionsListInvalid,
  sanctionsListsMissing,
  sanctionsListTooLarge,
  screeningAddressInvalid,
  screeningBatchTooLarge,
} from './sanction.errors.ts'
import { resolveListFiles } from './sanction.files.ts'
import {
  countFormats,
  emptyFormatCounts,
  listContentHash,
  normaliseForScreening,
  parseListContent,
} from './sanction.format.ts'
import { sanctionLimits } from './sanction.limits.ts'
import {
  activateVersion,
  diffVersions,
  findActiveLists,
  findActiveMatches,
  findContentHash,
  insertImportBatch,
  insertListEntries,
  insertListVersion,
  lockSource,
} from './sanction.repo.ts'
import type {
  ActiveList,
  ImportBatchReport,
  ListFile,
  ListImportOutcome,
  ListImportReport,
  ParsedList,
  SanctionMatch,
  ScreeningResult,
} from './sanction.types.ts'

type LoadedList = { list: ParsedList; fileSha256: string }

/** Reads and parses one file; every problem with the file itself becomes an AppError for its report. */
async function loadListFile(file: ListFile): Promise<LoadedList> {
  const size = (await stat(file.path)).size
  if (size > sanctionLimits.listFileBytesMax) {
    throw sanctionsListTooLarge(`${size} bytes; at most ${sanctionLimits.listFileBytesMax}`)
  }
  const bytes = await readFile(file.path)
  const parsed = parseListContent(bytes.toString('utf8'), file.kind)
  if (!parsed.ok) throw sanctionsListInvalid(parsed.reason)
  if (parsed.list.entries.size === 0) throw sanctionsListEmpty()
  if (parsed.list.entries.size > sanctionLimits.listEntriesMax) {
    throw sanctionsListTooLarge(
      `${parsed.list.entries.size} addresses; at most ${sanctionLimits.listEntriesMax}`,
    )
  }
  return { list: parsed.list, fileSha256: createHash('sha256').update(bytes).digest('hex') }
}

/** Makes `loaded` the active version of its source in one transaction, unless the content is unchanged. */
async function storeListVersion(
  pool: Pool,
  batchId: number,
  file: ListFile,
  loaded: LoadedList,
): Promise<ListImportOutcome> {
  const contentHash = listContentHash(loaded.list.entries.keys())
  return await withTransaction(pool, async (client) => {
    const { activeVersionId } = await lockSource(client, file.source)
    if (activeVersionId !== null && (await findContentHash(client, activeVersionId)) === contentHash) {
      return { status: 'unchanged', listVersion: activeVersionId }
    }
    const listVersion = await insertListVersion(client, {
      source: file.source,
      ticker: file.ticker,
      batchId,
      filePath: file.path,
      fileSha256: loaded.fileSha256,
      contentHash,
      entryCount: loaded.list.entries.size,
      invalidCount: loaded.list.invalidCount,
      formatCounts: countFormats(loaded.list.entries),
    })
    await insertListEntries(client, listVersion, loaded.list.entries)
    await activateVersion(client, file.source, listVersion)
    const diff =
      activeVersionId === null
        ? { added: loaded.list.entries.size, removed: 0 }
        : await diffVersions(client, activeVersionId, listVersion)
    return { status: 'imported', listVersion, previousVersion: activeVersionId, ...diff }
  })
}

async function importListFile(pool: Pool, batchId: number, file: ListFile): Promise<ListImportReport> {
  let loaded: LoadedList
  try {
    loaded = await loadListFile(file)
  } catch (error) {
    // A bad file fails alone; the other lists of the run still import. Database errors are not caught here.
    const outcome: ListImportOutcome = isAppError(error)
      ? { status: 'failed', code: error.code, message: error.message }
      : { status: 'failed', code: 'sanctions-file-unreadable', message: String(error) }
    return { file, outcome, entryCount: 0, counts: emptyFormatCounts(), invalidCount: 0, invalidSamples: [] }
  }
  return {
    file,
    outcome: await storeListVersion(pool, batchId, file, loaded),
    entryCount: loaded.list.entries.size,
    counts: countFormats(loaded.list.entries),
    invalidCount: loaded.list.invalidCount,
    invalidSamples: loaded.list.invalidSamples,
  }
}

/**
 * Imports list files (or directories of `sanctioned_addresses_<TICKER>.txt/.json`). Each list becomes a new
 * version of its source in its own transaction and replaces the active one, so removals (delistings) take
 * effect; identical content is reported `unchanged` and stores nothing but the batch row.
 */
export async function importSanctionLists(pool: Pool, paths: readonly string[]): Promise<ImportBatchReport> {
  const { files, skipped } = resolveListFiles(paths)
  const batch = await insertImportBatch(
    pool,
    files.map((file) => file.path),
  )
  const lists: ListImportReport[] = []
  for (const file of files) lists.push(await importListFile(pool, batch.id, file))
  return { batchId: batch.id, startedAt: batch.startedAt, lists, skipped }
}

function screeningKey(address: unknown, index: number): ReturnType<typeof normaliseForScreening> {
  if (typeof address !== 'string') throw screeningAddressInvalid(index, 'not a string')
  const key = normaliseForScreening(address)
  if (key.address === '') throw screeningAddressInvalid(index, 'empty')
  if (key.address.length > sanctionLimits.addressLengthMax) {
    throw screeningAddressInvalid(index, `longer than ${sanctionLimits.addressLengthMax} characters`)
  }
  return key
}

/**
 * Screens addresses against the active version of every list in one query, by normalised address (EVM in
 * any letter case, on any EVM network). Results keep the input order. Throws when no list is imported.
 */
export async function screenAddresses(
  db: Queryable,
  addresses: readonly string[],
): Promise<ScreeningResult[]> {
  if (addresses.length > sanctionLimits.screenBatchSizeMax) throw screeningBatchTooLarge(addresses.length)
  const keys = addresses.map(screeningKey)
  if (keys.length === 0) return []
  const rows = await findActiveMatches(db, [...new Set(keys.map((key) => key.address))])
  if (rows.activeVersions.length === 0) throw sanctionsListsMissing()
  const byAddress = new Map<string, SanctionMatch[]>()
  for (const { address, ...match } of rows.matches) {
    const list = byAddress.get(address) ?? []
    list.push(match)
    byAddress.set(address, list)
  }
  return keys.map((key) => {
    const matches = byAddress.get(key.address) ?? []
    return { ...key, hit: matches.length > 0, matches, screenedAgainst: rows.activeVersions }
  })
}

export async function screenAddress(db: Queryable, address: string): Promise<ScreeningResult> {
  const [result] = await screenAddresses(db, [address])
  assert(result !== undefined, 'screenAddresses returns one result per input')
  return result
}

/** The version each list is screened against now (for `sluice sanctions status` and list-freshness checks). */
export async function listActiveSanctionLists(db: Queryable): Promise<ActiveList[]> {
  return await findActiveLists(db)
}
