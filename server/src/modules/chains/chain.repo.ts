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

/**
 * Locks the cursor row for the rest of the transaction if `workerId` holds its lease (false if not), as a
 * cursor advance does: another watcher's lease and this worker's own advance wait for the commit.
 */
export async function lockLeasedCursor(db: Queryable, network: string, workerId: string): Promise<boolean> {
  const result = await db.query(
    `select from chain_cursors where network = $1 and leased_by = $2 and lease_until > now()
     for no key update`,
    [network, workerId],
  )
  return result.rowCount === 1
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

/**
 * A scanned range's bookkeeping in one statement (a catch-up tick paid a round trip for each part): moves
 * the cursor under the lease (fencing), stores the given block hashes at or above `keepFrom`, forgets the
 * ones below it, and raises the finalized block (unless `finalizedBlock` is negative: none yet). Hashes
 * below `keepFrom` are not stored at all: stored and then forgotten, as two statements did, they end the
 * same. Returns false, having written nothing, when the lease was lost.
 */
export async function advanceCursor(
  db: Queryable,
  input: {
    network: string
    workerId: string
    nextBlock: bigint
    blocks: readonly { number: bigint; hash: string }[]
    keepFrom: bigint
    finalizedBlock: bigint
  },
): Promise<boolean> {
  const result = await db.query<{ leased: boolean }>(
    `with leased as (
       update chain_cursors set next_block = $3, updated_at = now(),
         finalized_block = case when $7::bigint >= 0 then greatest(finalized_block, $7) else finalized_block end
       where network = $1 and leased_by = $2 and lease_until > now()
       returning network
     ), stored as (
       insert into chain_blocks (network, number, hash)
       select leased.network, block.number, block.hash
       from leased, unnest($4::bigint[], $5::text[]) as block(number, hash)
       where block.number >= $6
       on conflict (network, number) do update set hash = excluded.hash
     ), forgotten as (
       delete from chain_blocks using leased where chain_blocks.network = leased.network and chain_blocks.number < $6
     )
     select exists (select from leased) as leased`,
    [
      input.network,
      input.workerId,
      input.nextBlock.toString(),
      input.blocks.map((block) => block.number.toString()),
      input.blocks.map((block) => block.hash),
      input.keepFrom.toString(),
      input.finalizedBlock.toString(),
    ],
  )
  return result.rows[0]?.leased === true
}

export async function updateHalt(db: Queryable, network: string, reason: string | null): Promise<void> {
  await db.query('update chain_cursors set halted_reason = $2, updated_at = now() where network = $1', [
    network,
    reason,
  ])
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
