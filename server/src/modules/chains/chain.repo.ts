import type { Queryable } from '../../db/pool.ts'

export type CursorRow = { next_block: string; halted_reason: string | null }

export async function insertCursorIfAbsent(
  db: Queryable,
  network: string,
  chainId: number,
  nextBlock: bigint,
): Promise<void> {
  await db.query(
    `insert into chain_cursors (network, chain_id, next_block) values ($1, $2, $3)
     on conflict (network) do nothing`,
    [network, chainId, nextBlock.toString()],
  )
}

export async function selectCursorChainId(db: Queryable, network: string): Promise<number | undefined> {
  const result = await db.query<{ chain_id: string }>(
    'select chain_id from chain_cursors where network = $1',
    [network],
  )
  return result.rows[0] === undefined ? undefined : Number.parseInt(result.rows[0].chain_id, 10)
}

/** Takes or renews the lease; returns undefined while another worker holds a live lease. */
export async function leaseCursor(
  db: Queryable,
  network: string,
  workerId: string,
  leaseMs: number,
): Promise<CursorRow | undefined> {
  const result = await db.query<CursorRow>(
    `update chain_cursors set leased_by = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
     where network = $1 and (leased_by is null or leased_by = $2 or lease_until < now())
     returning next_block, halted_reason`,
    [network, workerId, leaseMs],
  )
  return result.rows[0]
}

export async function releaseCursorLease(db: Queryable, network: string, workerId: string): Promise<void> {
  await db.query(
    'update chain_cursors set leased_by = null, lease_until = null where network = $1 and leased_by = $2',
    [network, workerId],
  )
}

/** Moves the cursor only while we still hold the lease (fencing): returns false if it was lost. */
export async function updateCursor(
  db: Queryable,
  network: string,
  workerId: string,
  nextBlock: bigint,
): Promise<boolean> {
  const result = await db.query(
    `update chain_cursors set next_block = $3, updated_at = now()
     where network = $1 and leased_by = $2 and lease_until > now()`,
    [network, workerId, nextBlock.toString()],
  )
  return result.rowCount === 1
}

export async function updateHalt(db: Queryable, network: string, reason: string | null): Promise<void> {
  await db.query('update chain_cursors set halted_reason = $2, updated_at = now() where network = $1', [
    network,
    reason,
  ])
}

export async function upsertBlockHashes(
  db: Queryable,
  network: string,
  blocks: readonly { number: bigint; hash: string }[],
): Promise<void> {
  if (blocks.length === 0) return
  await db.query(
    `insert into chain_blocks (network, number, hash)
     select $1, number, hash from unnest($2::bigint[], $3::text[]) as block(number, hash)
     on conflict (network, number) do update set hash = excluded.hash`,
    [network, blocks.map((block) => block.number.toString()), blocks.map((block) => block.hash)],
  )
}

/** Newest stored block hashes first: the reorg check walks them back to a common ancestor. */
export async function selectRecentBlockHashes(
  db: Queryable,
  network: string,
  limit: number,
): Promise<{ number: bigint; hash: string }[]> {
  const result = await db.query<{ number: string; hash: string }>(
    'select number, hash from chain_blocks where network = $1 order by number desc limit $2',
    [network, limit],
  )
  return result.rows.map((row) => ({ number: BigInt(row.number), hash: row.hash }))
}

export async function selectBlockHash(
  db: Queryable,
  network: string,
  number: bigint,
): Promise<string | undefined> {
  const result = await db.query<{ hash: string }>(
    'select hash from chain_blocks where network = $1 and number = $2',
    [network, number.toString()],
  )
  return result.rows[0]?.hash
}

export async function deleteBlockHashes(
  db: Queryable,
  network: string,
  range: { below?: bigint; from?: bigint },
): Promise<void> {
  if (range.below !== undefined) {
    await db.query('delete from chain_blocks where network = $1 and number < $2', [
      network,
      range.below.toString(),
    ])
  }
  if (range.from !== undefined) {
    await db.query('delete from chain_blocks where network = $1 and number >= $2', [
      network,
      range.from.toString(),
    ])
  }
}

export async function selectFinalizedBlock(db: Queryable, network: string): Promise<bigint> {
  const result = await db.query<{ finalized_block: string }>(
    'select finalized_block from chain_cursors where network = $1',
    [network],
  )
  return BigInt(result.rows[0]?.finalized_block ?? '0')
}

export async function updateFinalizedBlock(
  db: Queryable,
  network: string,
  finalizedBlock: bigint,
): Promise<void> {
  await db.query(
    'update chain_cursors set finalized_block = greatest(finalized_block, $2) where network = $1',
    [network, finalizedBlock.toString()],
  )
}

/** Every network's watcher cursor (the dashboard's network health): next block to scan and finality. */
export async function selectCursorPositions(
  db: Queryable,
): Promise<{ network: string; next_block: string; finalized_block: string; halted_reason: string | null }[]> {
  const result = await db.query<{
    network: string
    next_block: string
    finalized_block: string
    halted_reason: string | null
  }>(
    'select network, next_block, finalized_block, halted_reason from chain_cursors order by network limit 100',
  )
  return result.rows
}
