import type { NetworkConfig } from '../../config/config.types.ts'
import type { Queryable } from '../../db/pool.ts'
import { AppError } from '../../lib/errors.ts'
import { chainLimits } from './chain.limits.ts'
import {
  advanceCursor,
  deleteBlockHashes,
  insertCursorIfAbsent,
  leaseCursor,
  lockLeasedCursor,
  releaseCursorLease,
  selectBlockHash,
  selectCursorChainId,
  selectCursorPositions,
  selectFinalizedBlock,
  selectRecentBlockHashes,
  updateCursor,
  updateHalt,
} from './chain.repo.ts'
import type { EvmRpc } from './evm-rpc.ts'

/** Gives the network's lease up (on shutdown) so another worker can take over at once. */
export async function releaseLease(db: Queryable, network: string, workerId: string): Promise<void> {
  await releaseCursorLease(db, network, workerId)
}

/** Halts crediting on a network (null resumes it). */
export async function setNetworkHalt(db: Queryable, network: string, reason: string | null): Promise<void> {
  await updateHalt(db, network, reason)
}

/** Thrown when a worker finds it no longer holds the network's lease: it must stop writing. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError'

  constructor(network: string) {
    super(`lost the ${network} watcher lease`)
  }
}

type BlockHeader = { number: string; hash: string }

export async function fetchBlockHeader(
  rpc: EvmRpc,
  tag: bigint | 'latest' | 'finalized',
): Promise<{ number: bigint; hash: string } | undefined> {
  const parameter = typeof tag === 'bigint' ? `0x${tag.toString(16)}` : tag
  const block = await rpc.call<BlockHeader | null>('eth_getBlockByNumber', [parameter, false])
  return block === null ? undefined : { number: BigInt(block.number), hash: block.hash.toLowerCase() }
}

/** The highest block that satisfies the network's finality rule (tag, or N confirmations). */
export async function finalizedBlockNumber(
  rpc: EvmRpc,
  network: NetworkConfig,
  headNumber: bigint,
): Promise<bigint> {
  if (network.finality.kind === 'confirmations') {
    const depth = BigInt(network.finality.confirmations)
    return headNumber >= depth ? headNumber - depth + 1n : -1n
  }
  const finalized = await fetchBlockHeader(rpc, 'finalized')
  return finalized?.number ?? -1n
}

/**
 * Creates the network's cursor on first use, starting a little behind the head. Refuses to run when
 * the stored chain id differs from the configured one: a changed RPC must not mix two chains' blocks.
 */
export async function ensureCursor(db: Queryable, network: NetworkConfig, headNumber: bigint): Promise<void> {
  const lookback = BigInt(chainLimits.watcherInitialLookbackBlocks)
  await insertCursorIfAbsent(
    db,
    network.name,
    network.chainId,
    headNumber > lookback ? headNumber - lookback : 0n,
  )
  const stored = await selectCursorChainId(db, network.name)
  if (stored !== network.chainId) {
    throw new AppError(
      'network-chain-id-changed',
      409,
      `network ${network.name} was chain ${stored}; it is configured as ${network.chainId}`,
    )
  }
}

export async function takeCursorLease(db: Queryable, networkName: string, workerId: string) {
  const row = await leaseCursor(db, networkName, workerId, chainLimits.watcherLeaseMs)
  if (row === undefined) return undefined
  return { nextBlock: BigInt(row.next_block), haltedReason: row.halted_reason }
}

/** Holds the cursor row under the lease until the transaction ends, for work that does not move it. */
export async function holdCursorLease(db: Queryable, network: string, workerId: string): Promise<void> {
  if (!(await lockLeasedCursor(db, network, workerId))) throw new LeaseLostError(network)
}

/** Advances the cursor and records the hashes of the newly scanned blocks, under the lease. */
export async function recordScannedRange(
  db: Queryable,
  input: {
    network: string
    workerId: string
    nextBlock: bigint
    blocks: readonly { number: bigint; hash: string }[]
    finalizedNumber: bigint
  },
): Promise<void> {
  const leased = await advanceCursor(db, {
    network: input.network,
    workerId: input.workerId,
    nextBlock: input.nextBlock,
    blocks: input.blocks,
    // Keep a few final blocks: a later mismatch on one of them reveals a reorg deeper than finality.
    keepFrom: input.finalizedNumber - BigInt(chainLimits.finalBlocksKept),
    finalizedBlock: input.finalizedNumber,
  })
  if (!leased) throw new LeaseLostError(input.network)
}

/**
 * Whether a scanned range continues the chain we recorded: the parent of its first block, as seen when the
 * range's logs were read, must match the hash stored for that block (if any). A range read on another
 * fork — a reorg between two ticks, or while a range was fetched ahead — is not recorded; the next tick's
 * reorg check finds the fork.
 */
export async function rangeFollowsRecordedChain(
  db: Queryable,
  network: string,
  parent: { number: bigint; hash: string } | undefined,
): Promise<boolean> {
  if (parent === undefined) return true
  const stored = await selectBlockHash(db, network, parent.number)
  return stored === undefined || stored === parent.hash
}

export type ReorgFinding = { forkBlock: bigint; deeperThanFinality: boolean }

/**
 * Compares stored block hashes with the chain, newest first. The newest matching block is the common
 * ancestor; everything above it must be rescanned. anvil (and some providers) never send
 * `removed: true`, so hashes are the only reliable signal. A block the node does not have yet (a node a
 * few blocks behind, after failover or behind a load balancer) says nothing either way: it is skipped,
 * not taken for a fork, which would orphan payments and could halt crediting for nothing.
 */
export async function detectReorg(
  db: Queryable,
  rpc: EvmRpc,
  network: string,
): Promise<ReorgFinding | undefined> {
  const stored = await selectRecentBlockHashes(db, network, chainLimits.reorgDepthMaxBlocks)
  if (stored.length === 0) return undefined
  let forkBlock: bigint | undefined
  for (const block of stored) {
    const onChain = await fetchBlockHeader(rpc, block.number)
    if (onChain === undefined) continue
    if (onChain.hash === block.hash) break
    forkBlock = block.number
  }
  if (forkBlock === undefined) return undefined
  const finalized = await selectFinalizedBlock(db, network)
  return { forkBlock, deeperThanFinality: forkBlock <= finalized }
}

/** Rewinds the cursor to `forkBlock` (under the lease) and forgets the replaced blocks' hashes. */
export async function rewindTo(
  db: Queryable,
  network: string,
  workerId: string,
  forkBlock: bigint,
): Promise<void> {
  if (!(await updateCursor(db, network, workerId, forkBlock))) throw new LeaseLostError(network)
  await deleteBlockHashes(db, network, { from: forkBlock })
}

/** Networks where crediting is halted (a reorg deeper than finality), with the reason. */
export async function listHaltedNetworks(db: Queryable): Promise<{ network: string; reason: string }[]> {
  const result = await db.query<{ network: string; halted_reason: string }>(
    'select network, halted_reason from chain_cursors where halted_reason is not null order by network limit 100',
  )
  return result.rows.map((row) => ({ network: row.network, reason: row.halted_reason }))
}

export type ScanPosition = Readonly<{
  network: string
  /** The highest block scanned (next_block − 1). */
  scannedBlock: bigint
  finalizedBlock: bigint
  haltedReason: string | null
}>

/** Where each network's watcher has got to, read from its persisted cursor. */
export async function listScanPositions(db: Queryable): Promise<ScanPosition[]> {
  const rows = await selectCursorPositions(db)
  return rows.map((row) => ({
    network: row.network,
    scannedBlock: BigInt(row.next_block) - 1n,
    finalizedBlock: BigInt(row.finalized_block),
    haltedReason: row.halted_reason,
  }))
}
