import type { Queryable } from '../../db/pool.ts'
import type { DriftStreak, ReconciliationIncident, ReconciliationStatus } from './reconciliation.types.ts'

/** SQL of the reconciliation tables (migration 0027). NUMERIC columns travel as decimal strings. */

export type CheckInsert = Readonly<{
  network: string
  assetId: string
  checkedAt: Date
}> &
  (
    | Readonly<{
        status: 'matched' | 'drift'
        blockNumber: bigint
        chainBalance: bigint
        ledgerBalance: bigint
        bookedAhead: bigint
        drift: bigint
        moving: boolean
        streak: DriftStreak
      }>
    | Readonly<{ status: 'failed'; error: string }>
  )

/** Serialises the checks of one network (the job runs one per network; a stray second caller waits). */
export async function lockNetwork(db: Queryable, network: string): Promise<void> {
  await db.query("select pg_advisory_xact_lock(hashtext('reconciliation:' || $1))", [network])
}

/** The streak of the asset's latest successful check; undefined if none is kept. */
export async function selectLatestStreak(
  db: Queryable,
  network: string,
  assetId: string,
): Promise<DriftStreak | undefined> {
  const result = await db.query<{ drift: string; streak_checks: number; streak_started_at: Date }>(
    `select drift, streak_checks, streak_started_at from reconciliation_checks
      where network = $1 and asset_id = $2 and status <> 'failed'
      order by checked_at desc, id desc limit 1`,
    [network, assetId],
  )
  const row = result.rows[0]
  if (row === undefined) return undefined
  return { drift: BigInt(row.drift), checks: row.streak_checks, startedAt: row.streak_started_at }
}

export async function insertCheck(db: Queryable, check: CheckInsert): Promise<void> {
  const figures =
    check.status === 'failed'
      ? [null, null, null, null, null, null, null, null, check.error]
      : [
          check.blockNumber.toString(),
          check.chainBalance.toString(),
          check.ledgerBalance.toString(),
          check.bookedAhead.toString(),
          check.drift.toString(),
          check.moving,
          check.streak.checks,
          check.streak.startedAt,
          null,
        ]
  await db.query(
    `insert into reconciliation_checks (network, asset_id, status, checked_at, block_number, chain_balance,
       ledger_balance, booked_ahead, drift, moving, streak_checks, streak_started_at, error)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [check.network, check.assetId, check.status, check.checkedAt, ...figures],
  )
}

/** Deletes the network's checks older than `before` (the retention bound). */
export async function deleteChecksBefore(db: Queryable, network: string, before: Date): Promise<number> {
  const result = await db.query('delete from reconciliation_checks where network = $1 and checked_at < $2', [
    network,
    before,
  ])
  return result.rowCount ?? 0
}

type IncidentRow = {
  id: string
  network: string
  asset_id: string
  opening_drift: string
  latest_drift: string
  opened_block_number: string
  first_seen_at: Date
  opened_at: Date
  cleared_block_number: string | null
  cleared_at: Date | null
}

const incidentColumns = `i.id, i.network, i.asset_id, i.opening_drift, i.latest_drift, i.opened_block_number,
  i.first_seen_at, i.opened_at, i.cleared_block_number, i.cleared_at`

function toIncident(row: IncidentRow): ReconciliationIncident {
  return {
    id: row.id,
    network: row.network,
    assetId: row.asset_id,
    openingDrift: BigInt(row.opening_drift),
    latestDrift: BigInt(row.latest_drift),
    openedBlockNumber: BigInt(row.opened_block_number),
    firstSeenAt: row.first_seen_at,
    openedAt: row.opened_at,
    clearedBlockNumber: row.cleared_block_number === null ? null : BigInt(row.cleared_block_number),
    clearedAt: row.cleared_at,
  }
}

export async function selectOpenIncident(
  db: Queryable,
  network: string,
  assetId: string,
): Promise<ReconciliationIncident | undefined> {
  const result = await db.query<IncidentRow>(
    `select ${incidentColumns} from reconciliation_incidents i
      where i.network = $1 and i.asset_id = $2 and i.cleared_at is null limit 1`,
    [network, assetId],
  )
  return result.rows[0] === undefined ? undefined : toIncident(result.rows[0])
}

export async function insertIncident(
  db: Queryable,
  incident: Readonly<{
    id: string
    network: string
    assetId: string
    drift: bigint
    blockNumber: bigint
    firstSeenAt: Date
    openedAt: Date
  }>,
): Promise<ReconciliationIncident> {
  const result = await db.query<IncidentRow>(
    `insert into reconciliation_incidents as i (id, network, asset_id, opening_drift, latest_drift,
       opened_block_number, first_seen_at, opened_at)
     values ($1, $2, $3, $4, $4, $5, $6, $7)
     returning ${incidentColumns}`,
    [
      incident.id,
      incident.network,
      incident.assetId,
      incident.drift.toString(),
      incident.blockNumber.toString(),
      incident.firstSeenAt,
      incident.openedAt,
    ],
  )
  return toIncident(result.rows[0] as IncidentRow)
}

export async function updateIncidentDrift(db: Queryable, id: string, drift: bigint): Promise<void> {
  await db.query(
    'update reconciliation_incidents set latest_drift = $2 where id = $1 and cleared_at is null',
    [id, drift.toString()],
  )
}

export async function clearIncident(
  db: Queryable,
  id: string,
  blockNumber: bigint,
  at: Date,
): Promise<ReconciliationIncident> {
  const result = await db.query<IncidentRow>(
    `update reconciliation_incidents as i set cleared_block_number = $2, cleared_at = $3
      where i.id = $1 and i.cleared_at is null
      returning ${incidentColumns}`,
    [id, blockNumber.toString(), at],
  )
  return toIncident(result.rows[0] as IncidentRow)
}

export async function selectIncidents(
  db: Queryable,
  filter: Readonly<{ network?: string; openOnly?: boolean }>,
  limit: number,
): Promise<ReconciliationIncident[]> {
  const result = await db.query<IncidentRow>(
    `select ${incidentColumns} from reconciliation_incidents i
      where ($1::text is null or i.network = $1) and (not $2 or i.cleared_at is null)
      order by i.opened_at desc, i.id desc limit $3`,
    [filter.network ?? null, filter.openOnly ?? false, limit],
  )
  return result.rows.map(toIncident)
}

/**
 * Per asset asked for: the latest successful check's time, age (database clock) and drift, and the open
 * incident if any. One index probe per asset (reconciliation_checks_asset_idx).
 */
export async function selectStatuses(
  db: Queryable,
  assets: readonly Readonly<{ network: string; assetId: string }>[],
): Promise<ReconciliationStatus[]> {
  const result = await db.query<
    Partial<IncidentRow> & {
      asset_network: string
      asset: string
      last_checked_at: Date | null
      age_seconds: number | null
      last_drift: string | null
      incident_id: string | null
    }
  >(
    `select a.network as asset_network, a.asset_id as asset, l.checked_at as last_checked_at,
            extract(epoch from (now() - l.checked_at))::float8 as age_seconds, l.drift as last_drift,
            i.id as incident_id, ${incidentColumns}
       from unnest($1::text[], $2::text[]) as a (network, asset_id)
       left join lateral (
         select c.checked_at, c.drift from reconciliation_checks c
          where c.network = a.network and c.asset_id = a.asset_id and c.status <> 'failed'
          order by c.checked_at desc, c.id desc limit 1
       ) l on true
       left join reconciliation_incidents i
         on i.network = a.network and i.asset_id = a.asset_id and i.cleared_at is null
      order by a.network, a.asset_id`,
    [assets.map((asset) => asset.network), assets.map((asset) => asset.assetId)],
  )
  return result.rows.map((row) => ({
    network: row.asset_network,
    assetId: row.asset,
    lastSuccessfulCheckAt: row.last_checked_at,
    // A duration in seconds for a gauge (float8 arrives as a JS number), never an amount.
    lastSuccessfulCheckAgeSeconds: row.age_seconds,
    lastDrift: row.last_drift === null ? null : BigInt(row.last_drift),
    openIncident: row.incident_id === null ? undefined : toIncident(row as IncidentRow),
  }))
}
