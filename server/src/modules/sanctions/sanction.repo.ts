import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import { sanctionLimits } from './sanction.limits.ts'
import type { ActiveList, AddressFormat, FormatCounts } from './sanction.types.ts'

export async function insertImportBatch(
  db: Queryable,
  paths: readonly string[],
): Promise<{ id: number; startedAt: Date }> {
  const result = await db.query<{ id: number; started_at: Date }>(
    'insert into sanction_import_batches (paths) values ($1) returning id, started_at',
    [paths],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'insert … returning produced no row')
  return { id: row.id, startedAt: row.started_at }
}

/**
 * Creates the source on first sight, then locks its row for the rest of the transaction, so two imports
 * of one list run one after the other and the second compares against the first's result.
 */
export async function lockSource(db: Queryable, source: string): Promise<{ activeVersionId: number | null }> {
  await db.query('insert into sanction_sources (source) values ($1) on conflict (source) do nothing', [
    source,
  ])
  const result = await db.query<{ active_version_id: number | null }>(
    'select active_version_id from sanction_sources where source = $1 for update',
    [source],
  )
  return { activeVersionId: result.rows[0]?.active_version_id ?? null }
}

export async function findContentHash(db: Queryable, versionId: number): Promise<string | undefined> {
  const result = await db.query<{ content_hash: string }>(
    'select content_hash from sanction_list_versions where id = $1',
    [versionId],
  )
  return result.rows[0]?.content_hash
}

export type NewListVersion = Readonly<{
  source: string
  ticker: string | null
  batchId: number
  filePath: string
  fileSha256: string
  contentHash: string
  entryCount: number
  invalidCount: number
  formatCounts: FormatCounts
}>

export async function insertListVersion(db: Queryable, version: NewListVersion): Promise<number> {
  const result = await db.query<{ id: number }>(
    `insert into sanction_list_versions
       (source, ticker, batch_id, file_path, file_sha256, content_hash, entry_count, invalid_count, format_counts)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [
      version.source,
      version.ticker,
      version.batchId,
      version.filePath,
      version.fileSha256,
      version.contentHash,
      version.entryCount,
      version.invalidCount,
      JSON.stringify(version.formatCounts),
    ],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'insert … returning produced no row')
  return row.id
}

export async function insertListEntries(
  db: Queryable,
  versionId: number,
  entries: ReadonlyMap<string, AddressFormat>,
): Promise<void> {
  const all = [...entries]
  for (let start = 0; start < all.length; start += sanctionLimits.insertChunkRows) {
    const chunk = all.slice(start, start + sanctionLimits.insertChunkRows)
    await db.query(
      `insert into sanction_list_entries (version_id, address, format)
       select $1, address, format from unnest($2::text[], $3::text[]) as input (address, format)`,
      [versionId, chunk.map(([address]) => address), chunk.map(([, format]) => format)],
    )
  }
}

export async function activateVersion(db: Queryable, source: string, versionId: number): Promise<void> {
  await db.query('update sanction_sources set active_version_id = $2, updated_at = now() where source = $1', [
    source,
    versionId,
  ])
}

/** Addresses added and removed between two versions of a list (a delisting shows up as `removed`). */
export async function diffVersions(
  db: Queryable,
  previousId: number,
  nextId: number,
): Promise<{ added: number; removed: number }> {
  const result = await db.query<{ added: number; removed: number }>(
    `select
       (select count(*) from sanction_list_entries n where n.version_id = $2 and not exists
          (select 1 from sanction_list_entries o where o.version_id = $1 and o.address = n.address))::int as added,
       (select count(*) from sanction_list_entries o where o.version_id = $1 and not exists
          (select 1 from sanction_list_entries n where n.version_id = $2 and n.address = o.address))::int as removed`,
    [previousId, nextId],
  )
  return result.rows[0] ?? { added: 0, removed: 0 }
}

export type ScreeningRows = Readonly<{
  activeVersions: readonly number[]
  matches: readonly Readonly<{
    address: string
    source: string
    ticker: string | null
    listVersion: number
  }>[]
}>

/**
 * One round trip for a whole batch: the active versions (rows without an address) and every active entry
 * equal to one of the keys, found through the address index.
 */
export async function findActiveMatches(db: Queryable, addresses: readonly string[]): Promise<ScreeningRows> {
  const result = await db.query<{
    address: string | null
    source: string
    ticker: string | null
    list_version: number
  }>(
    `with active as (
       select s.source, v.ticker, v.id from sanction_sources s join sanction_list_versions v on v.id = s.active_version_id
     )
     select null::text as address, a.source, a.ticker, a.id as list_version from active a
     union all
     select e.address, a.source, a.ticker, a.id from sanction_list_entries e join active a on a.id = e.version_id
     where e.address = any($1::text[])
     order by list_version`,
    [addresses],
  )
  const activeVersions: number[] = []
  const matches: { address: string; source: string; ticker: string | null; listVersion: number }[] = []
  for (const row of result.rows) {
    if (row.address === null) activeVersions.push(row.list_version)
    else
      matches.push({
        address: row.address,
        source: row.source,
        ticker: row.ticker,
        listVersion: row.list_version,
      })
  }
  return { activeVersions, matches }
}

type ActiveListRow = {
  source: string
  ticker: string | null
  id: number
  file_path: string
  entry_count: number
  content_hash: string
  imported_at: Date
  batch_id: number
}

export async function findActiveLists(db: Queryable): Promise<ActiveList[]> {
  const result = await db.query<ActiveListRow>(
    `select s.source, v.ticker, v.id, v.file_path, v.entry_count, v.content_hash, v.imported_at, v.batch_id
     from sanction_sources s join sanction_list_versions v on v.id = s.active_version_id
     order by s.source`,
  )
  return result.rows.map((row) => ({
    source: row.source,
    ticker: row.ticker,
    listVersion: row.id,
    filePath: row.file_path,
    entryCount: row.entry_count,
    contentHash: row.content_hash,
    importedAt: row.imported_at,
    batchId: row.batch_id,
  }))
}
