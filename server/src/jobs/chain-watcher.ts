import { hostname } from 'node:os'
import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool, PoolClient } from '../db/pool.ts'
import { withTransaction } from '../db/tx.ts'
import type { Logger } from '../lib/logger.ts'
import { AddressSet } from '../modules/chains/address-set.ts'
import { chainLimits } from '../modules/chains/chain.limits.ts'
import {
  detectReorg,
  ensureCursor,
  fetchBlockHeader,
  finalizedBlockNumber,
  holdCursorLease,
  LeaseLostError,
  rangeFollowsRecordedChain,
  recordScannedRange,
  releaseLease,
  rewindTo,
  setNetworkHalt,
  takeCursorLease,
} from '../modules/chains/chain.service.ts'
import type { TokenTransferLog } from '../modules/chains/chain.types.ts'
import { EvmRpc } from '../modules/chains/evm-rpc.ts'
import { getLogIndexShrinking, type LogIndex } from '../modules/chains/log-index.ts'
import {
  decodeTransferLog,
  getLogsShrinking,
  nativeTransfersInBlock,
  type RawLog,
  transferTopic,
} from '../modules/chains/transfer-logs.ts'
import { paymentLimits } from '../modules/payments/payment.limits.ts'
import type { ChainObservation } from '../modules/payments/payment.types.ts'
import {
  type AddressWatermark,
  currentAddressWatermark,
  loadAddressesAfter,
  loadAddressesSince,
  loadAddressPrefixesAfter,
  loadAddressPrefixesSince,
  orphanPayments,
  progressPayments,
  recordObservedTransfers,
} from '../modules/payments/payment-recording.service.ts'

export type TickResult = 'caught-up' | 'more' | 'standby'

export type ChainWatcherOptions = {
  pool: Pool
  network: NetworkConfig
  logger: Logger
  rpc?: EvmRpc
  workerId?: string
}

type BlockRef = { number: bigint; hash: string }

/**
 * One block range, read between two looks at the range's end block (the same hash both times: no reorg
 * replaced the range while it was read), with the parent of its first block as seen then. Of its logs only
 * the transfers that reach candidate addresses are kept: the raw logs do not outlive the read.
 */
type ScannedRange = {
  fromBlock: bigint
  coveredToBlock: bigint
  transfers: TokenTransferLog[]
  end: BlockRef
  parent: BlockRef | undefined
}

/** A range being read before its turn; `scan` never rejects (a failed read is undefined). */
type ReadAhead = { fromBlock: bigint; toBlock: bigint; scan: Promise<ScannedRange | undefined> }

/** How a tick that records a range moves open payments: not at all, after the write, or beside it. */
type Crediting = 'none' | 'after-write' | 'beside-write'

/**
 * One network's deposit watcher. Each tick: take the network's lease (one scanner per network across
 * processes), check stored block hashes for a reorg, scan the next bounded block range for Transfer logs
 * of the configured tokens (and, for small watch sets, of any token), record what reaches our addresses,
 * advance the cursor, and move open payments toward finality — in one transaction. While catching up,
 * the next range is read and matched against the address set while this range is written (one range
 * ahead; it writes nothing), and open payments move when the cursor reaches the head (or every
 * catchUpCreditingIntervalMs), in a transaction of their own beside that tick's write; so catch-up
 * costs about one eth_getLogs per range (docs/adr/0011). New-head pushes over WebSocket only wake the
 * loop; they never write.
 */
export class ChainWatcher {
  readonly rpc: EvmRpc
  readonly workerId: string
  private readonly addresses = new AddressSet(1024)
  private readonly smallWatchList: string[] = []
  private readonly tokenAddresses: string[]
  /** Where the next address load starts; undefined until the first load has read everything. */
  private addressWatermark: AddressWatermark | undefined
  private addressLoad: Promise<void> = Promise.resolve()
  private addressesPrimed = false
  /** Ranges being read ahead of the tick that records them: contiguous, in block order. */
  private readAhead: ReadAhead[] = []
  /** Blocks a range is planned with: what the node last answered in full (see noteRangeAnswered). */
  private rangeBlocks = BigInt(chainLimits.blockRangeMax)
  private fullRangesSinceShrink = 0
  private lastCreditedAtMs = performance.now()
  private cursorReady = false
  private stopping = false
  private loop: Promise<void> | undefined
  private subscription: Promise<void> | undefined
  private wakeUp: (() => void) | undefined
  private wokenDuringTick = false
  private unwatchHeads: (() => void) | undefined

  constructor(private readonly options: ChainWatcherOptions) {
    this.rpc = options.rpc ?? new EvmRpc(options.network)
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${options.network.name}`
    this.tokenAddresses = options.network.tokens.map((token) => token.contractAddress.toLowerCase())
  }

  start(): void {
    // No push (no WebSocket URL, or it failed): the loop still polls every watcherIdleMs.
    this.subscription = this.subscribeToHeads().catch(() => {})
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.stopping = true
    await this.subscription
    this.unwatchHeads?.()
    this.wakeUp?.()
    await this.loop
    // A read ahead still under way refreshes the address set when its logs arrive: it ends before the pool may.
    await Promise.all(this.readAhead.map((ahead) => ahead.scan))
    this.dropReadAhead()
    await this.addressLoad.catch(() => {})
    await releaseLease(this.options.pool, this.options.network.name, this.workerId).catch(() => {})
  }

  /** A new head: end the current pause, or skip the next one if a tick is running (no lost wake-ups). */
  wake(): void {
    if (this.wakeUp === undefined) this.wokenDuringTick = true
    else this.wakeUp()
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let pauseMs = 0
      try {
        const result = await this.tick()
        if (result !== 'more') pauseMs = chainLimits.watcherIdleMs
      } catch (error) {
        pauseMs = chainLimits.watcherErrorBackoffMs
        const level = error instanceof LeaseLostError ? 'info' : 'warn'
        this.options.logger[level](
          { network: this.options.network.name, err: error, rpc: this.rpc.status() },
          'watcher tick failed',
        )
      }
      if (pauseMs > 0 && !this.stopping) await this.pause(pauseMs)
    }
  }

  private async pause(ms: number): Promise<void> {
    if (this.wokenDuringTick) {
      this.wokenDuringTick = false
      return
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.wakeUp = undefined
  }

  private async subscribeToHeads(): Promise<void> {
    const wsUrl = this.options.network.rpcUrls.find((url) => url.startsWith('ws'))
    if (wsUrl === undefined) return
    // viem's client is loaded only for push: a watcher that polls over HTTP does not carry it.
    const { createPublicClient, webSocket } = await import('viem')
    if (this.stopping) return
    const client = createPublicClient({ transport: webSocket(wsUrl, { retryCount: 3, timeout: 5_000 }) })
    this.unwatchHeads = client.watchBlockNumber({ onBlockNumber: () => this.wake(), onError: () => {} })
  }

  /**
   * Loads the whole watch set now, instead of beside the first tick's range read. For a caller that wants
   * the set in memory before it asks for a tick (the catch-up benchmark times block throughput apart from
   * this one-off load); a watcher started with start() needs no call.
   */
  async loadWatchSet(): Promise<void> {
    this.addressesPrimed = true
    await this.refreshAddresses()
  }

  /** One bounded step; exposed for tests, which drive the watcher tick by tick. */
  async tick(): Promise<TickResult> {
    const { pool, network } = this.options
    if (!this.addressesPrimed) {
      // The first load of a large watch set overlaps the first reads; the load after them still runs.
      this.addressesPrimed = true
      this.refreshAddresses().catch(() => {})
    }
    // The head and the reorg check each wait on a node that may be busy serving ranges read ahead: they
    // run side by side.
    const headRead = this.rpc.headBlockNumber()
    headRead.catch(() => {}) // awaited below, unless the lease is not ours
    if (!this.cursorReady) {
      await ensureCursor(pool, network, await headRead)
      this.cursorReady = true
    }
    const lease = await takeCursorLease(pool, network.name, this.workerId)
    if (lease === undefined) {
      this.dropReadAhead()
      return 'standby'
    }
    const [headNumber, reorged] = await Promise.all([headRead, this.handleReorg()])
    if (reorged) {
      this.dropReadAhead()
      return 'more'
    }
    const finalizedNumber = await finalizedBlockNumber(this.rpc, network, headNumber)
    const observation = { headNumber, finalizedNumber }
    const creditingHalted = lease.haltedReason !== null
    if (lease.nextBlock > headNumber) {
      this.dropReadAhead()
      const moved = await withTransaction(pool, async (client) => {
        await recordScannedRange(client, {
          network: network.name,
          workerId: this.workerId,
          nextBlock: lease.nextBlock,
          blocks: [],
          finalizedNumber,
        })
        return await this.creditOpenPayments(client, observation, creditingHalted)
      })
      // A full batch of moves means more are waiting: go on without the idle pause.
      return moved >= paymentLimits.openPaymentsPerTickMax ? 'more' : 'caught-up'
    }
    const toBlock = this.plannedRangeEnd(lease.nextBlock, headNumber)
    const scanned = await this.scanRange(lease.nextBlock, toBlock, headNumber)
    if (scanned === undefined) return 'more' // the range end changed while we read it: a reorg; look again
    const { range: scan, readAhead } = scanned
    const creditDue = toBlock === headNumber || this.creditingDue()
    // In a pipelined catch-up (a range read ahead) crediting moves the oldest open payments, recorded in
    // earlier ticks: it runs beside the range's write instead of after it (docs/adr/0011), unless the pool
    // has no connection to spare for a second transaction now.
    const beside = readAhead && pool.waitingCount === 0
    const crediting: Crediting = !creditDue ? 'none' : beside ? 'beside-write' : 'after-write'
    const recorded = await this.recordRange(scan, observation, { creditingHalted, crediting })
    if (!recorded) {
      this.dropReadAhead()
      return 'more' // the range does not continue the recorded chain: the next reorg check finds the fork
    }
    return scan.coveredToBlock < headNumber ? 'more' : 'caught-up'
  }

  /**
   * Records one scanned range in one transaction; false (nothing written) if it is on another fork.
   * Crediting beside the write runs in a transaction of its own, and moves nothing either when the range
   * is on another fork.
   */
  private async recordRange(
    scan: ScannedRange,
    observation: ChainObservation,
    options: { creditingHalted: boolean; crediting: Crediting },
  ): Promise<boolean> {
    const write = this.writeRange(scan, observation, options)
    if (options.crediting !== 'beside-write') return await write
    const credit = this.creditBesideWrite(scan.parent, observation, options.creditingHalted)
    const [written] = await bothSettled(write, credit)
    return written
  }

  private async writeRange(
    scan: ScannedRange,
    observation: ChainObservation,
    options: { creditingHalted: boolean; crediting: Crediting },
  ): Promise<boolean> {
    const { pool, network } = this.options
    const blocks = new Map<bigint, string>([[scan.end.number, scan.end.hash]])
    for (const transfer of scan.transfers) blocks.set(transfer.blockNumber, transfer.blockHash)
    return await withTransaction(pool, async (client) => {
      if (!(await rangeFollowsRecordedChain(client, network.name, scan.parent))) return false
      await recordObservedTransfers(client, network, scan.transfers)
      await recordScannedRange(client, {
        network: network.name,
        workerId: this.workerId,
        nextBlock: scan.coveredToBlock + 1n,
        blocks: [...blocks].map(([number, hash]) => ({ number, hash })),
        finalizedNumber: observation.finalizedNumber,
      })
      if (options.crediting === 'after-write')
        await this.creditOpenPayments(client, observation, options.creditingHalted)
      return true
    })
  }

  /**
   * Crediting in its own transaction. It locks the payments it moves as it reads them, skipping any the
   * write holds (a rescan's write locks the payments it sees again), so it never waits for the write; it
   * then holds the cursor row under the lease, as a cursor advance does, so a watcher that lost its lease
   * rolls its crediting back. Taken first, that lock could close a cycle with the write: the write waiting
   * for it at its cursor advance, this waiting for a payment the write locked.
   */
  private async creditBesideWrite(
    parent: BlockRef | undefined,
    observation: ChainObservation,
    creditingHalted: boolean,
  ): Promise<void> {
    const { pool, network } = this.options
    await withTransaction(pool, async (client) => {
      // The write stores hashes from the range's first block on, never its parent's: this reads what the
      // write does, and a range on another fork credits nothing (the next tick's reorg check finds it).
      if (!(await rangeFollowsRecordedChain(client, network.name, parent))) return
      await this.creditOpenPayments(client, observation, creditingHalted)
      await holdCursorLease(client, network.name, this.workerId)
    })
  }

  private async creditOpenPayments(
    client: PoolClient,
    observation: ChainObservation,
    creditingHalted: boolean,
  ): Promise<number> {
    this.lastCreditedAtMs = performance.now()
    return await progressPayments(client, this.options.network, observation, { creditingHalted })
  }

  private creditingDue(): boolean {
    return performance.now() - this.lastCreditedAtMs >= chainLimits.catchUpCreditingIntervalMs
  }

  private async handleReorg(): Promise<boolean> {
    const { pool, network, logger } = this.options
    const finding = await detectReorg(pool, this.rpc, network.name)
    if (finding === undefined) return false
    await withTransaction(pool, async (client) => {
      const orphaned = await orphanPayments(client, network, finding.forkBlock)
      await rewindTo(client, network.name, this.workerId, finding.forkBlock)
      if (finding.deeperThanFinality) {
        await setNetworkHalt(
          client,
          network.name,
          `reorg from block ${finding.forkBlock} reached a block we had seen final`,
        )
      }
      logger[finding.deeperThanFinality ? 'error' : 'warn'](
        {
          network: network.name,
          forkBlock: finding.forkBlock.toString(),
          orphaned: orphaned.length,
          deeperThanFinality: finding.deeperThanFinality,
        },
        finding.deeperThanFinality
          ? 'ALERT: reorg deeper than finality: crediting halted on this network'
          : 'reorg: rescanning',
      )
    })
    return true
  }

  /**
   * Reads [fromBlock, toBlock] — or takes the range read ahead, if it starts there — and keeps reading
   * ahead (large watch sets). Undefined when a range read ahead is no longer on the chain: the caller
   * looks again. `readAhead`: the range was read before this tick (a pipelined catch-up).
   */
  private async scanRange(
    fromBlock: bigint,
    toBlock: bigint,
    headNumber: bigint,
  ): Promise<{ range: ScannedRange; readAhead: boolean } | undefined> {
    const ahead = this.takeReadAhead(fromBlock)
    const reading = ahead === undefined ? this.readRange(fromBlock, toBlock) : undefined
    // The range after one read ahead is read at once (its answer is usually in already); after a range read
    // now, only once its answer shows where it ends (a node may have cut it short: noteRangeAnswered).
    if (this.largeWatchSet && ahead !== undefined) this.readAheadFrom(ahead.toBlock + 1n, headNumber)
    const aheadRange = await ahead?.scan
    // A range whose read ahead failed is read again now.
    const range = aheadRange ?? (await (reading ?? this.readRange(fromBlock, toBlock)))
    if (range === undefined) return undefined
    // A watcher learns its watch set is large from the first address load, which this range's read awaited:
    // the next range is then read during this one's write instead of after it (a no-op if already queued).
    // From where this range's answer ends: a node answering "too many results" shortened it, and a read
    // ahead from the planned end would not be the next tick's range.
    if (this.largeWatchSet) this.readAheadFrom(range.coveredToBlock + 1n, headNumber)
    const readAhead = range === aheadRange
    if (readAhead && !(await this.stillOnChain(range, headNumber))) {
      this.dropReadAhead()
      return undefined
    }
    range.transfers.push(...(await this.nativeTransfers(fromBlock, range.coveredToBlock)))
    return { range, readAhead }
  }

  /** The transfers among a range's logs that reach the address set (candidates: see address-set.ts). */
  private candidateTransfers(
    configured: LogIndex,
    other: readonly RawLog[],
    coveredToBlock: bigint,
  ): TokenTransferLog[] {
    const transfers: TokenTransferLog[] = []
    const keep = (log: RawLog) => {
      const transfer = decodeTransferLog(log)
      if (transfer !== undefined && transfer.blockNumber <= coveredToBlock && this.addresses.has(transfer.to))
        transfers.push(transfer)
    }
    for (let index = 0; index < configured.length; index += 1) {
      // Most logs pay someone else: their recipient prefix is tested before anything is parsed.
      const kind = configured.kind(index)
      if (kind === 'not-transfer') continue
      if (kind === 'plain' && !this.addresses.hasPrefix(...configured.recipientPrefix(index))) continue
      keep(configured.parse<RawLog>(index))
    }
    for (const log of other) keep(log)
    return transfers
  }

  /**
   * A range read ahead is recorded only if it is still on the chain: its end block must still have the
   * hash it had when the logs were read (then so do all blocks below it), so what is recorded (and perhaps
   * credited) in this tick is as current as a range read now.
   */
  private async stillOnChain(range: ScannedRange, headNumber: bigint): Promise<boolean> {
    if (range.coveredToBlock > headNumber) return false
    const end = await fetchBlockHeader(this.rpc, range.coveredToBlock)
    return end?.hash === range.end.hash
  }

  /** The range read ahead that starts at `fromBlock`, taken off the queue; any other queue is dropped. */
  private takeReadAhead(fromBlock: bigint): ReadAhead | undefined {
    const next = this.readAhead[0]
    if (next === undefined || next.fromBlock !== fromBlock) {
      this.dropReadAhead()
      return undefined
    }
    this.readAhead.shift()
    return next
  }

  /**
   * Keeps up to readAheadRangesMax ranges being read from `fromBlock` on (or after the ranges already
   * queued), all at once (chain.limits.ts says why the default is one). Large watch sets only: a small
   * one's unsupported-token filter needs the address list of the moment.
   */
  private readAheadFrom(fromBlock: bigint, headNumber: bigint): void {
    if (this.readAhead[0] !== undefined && this.readAhead[0].fromBlock !== fromBlock) this.dropReadAhead()
    let next = (this.readAhead.at(-1)?.toBlock ?? fromBlock - 1n) + 1n
    while (this.readAhead.length < chainLimits.readAheadRangesMax && next <= headNumber) {
      const toBlock = this.plannedRangeEnd(next, headNumber)
      const scan = this.readRange(next, toBlock).catch(() => undefined)
      this.readAhead.push({ fromBlock: next, toBlock, scan })
      next = toBlock + 1n
    }
  }

  /** The last block of the range starting at `fromBlock`, as planned now (the head at most). */
  private plannedRangeEnd(fromBlock: bigint, headNumber: bigint): bigint {
    const last = fromBlock + this.rangeBlocks - 1n
    return last < headNumber ? last : headNumber
  }

  /**
   * A node that answers "too many results" for a range (log-count caps: 10,000 logs at several providers)
   * will for the next one too: ranges are planned at the length it last answered in full, so a tick does
   * not ask for the refused length again (a refused call, then halving, every tick) and a range read ahead
   * starts where the next tick's will. After `rangeGrowAfterFullAnswers` full answers the length doubles
   * again (up to blockRangeMax), so a quieter stretch of chain is read in longer ranges.
   */
  private noteRangeAnswered(requestedBlocks: bigint, answeredBlocks: bigint): void {
    if (answeredBlocks < requestedBlocks) {
      this.rangeBlocks = answeredBlocks
      this.fullRangesSinceShrink = 0
      return
    }
    if (requestedBlocks < this.rangeBlocks) return // a range cut short by the head says nothing
    this.fullRangesSinceShrink += 1
    if (this.fullRangesSinceShrink < chainLimits.rangeGrowAfterFullAnswers) return
    this.fullRangesSinceShrink = 0
    const doubled = this.rangeBlocks * 2n
    const max = BigInt(chainLimits.blockRangeMax)
    this.rangeBlocks = doubled < max ? doubled : max
  }

  /** In-flight reads finish and are dropped with their answers. */
  private dropReadAhead(): void {
    this.readAhead = []
  }

  /**
   * Reads a range and keeps its candidate transfers. The address set is brought up to date after the logs
   * were read and before they are matched (docs/adr/0011): every address committed before the read is in
   * it. Read ahead, all of this runs beside the previous range's write, so a tick starts its write at once.
   */
  private async readRange(fromBlock: bigint, toBlock: bigint): Promise<ScannedRange | undefined> {
    const endBefore = await fetchBlockHeader(this.rpc, toBlock)
    const configured = await getLogIndexShrinking(
      this.rpc,
      { fromBlock, toBlock },
      { address: this.tokenAddresses, topics: [transferTopic] },
    )
    this.noteRangeAnswered(toBlock - fromBlock + 1n, configured.coveredToBlock - fromBlock + 1n)
    await this.refreshAddresses()
    let coveredToBlock = configured.coveredToBlock
    let other: RawLog[] = []
    if (this.smallWatchList.length > 0 && !this.largeWatchSet) {
      const unsupported = await this.unsupportedTokenLogs(fromBlock, coveredToBlock)
      coveredToBlock = unsupported.coveredToBlock
      other = unsupported.logs
    }
    // The parent (and a shortened range's end) are read after the logs and before the last look at
    // `toBlock`: if `toBlock` kept its hash throughout, they are its ancestors, on the chain the logs came
    // from. Read beside `endBefore`, a reorg between the two reads could pair an old parent with new logs.
    const parentRead = fromBlock > 0n ? fetchBlockHeader(this.rpc, fromBlock - 1n) : undefined
    const end = coveredToBlock === toBlock ? endBefore : await fetchBlockHeader(this.rpc, coveredToBlock)
    const [parent, endAfter] = await Promise.all([parentRead, fetchBlockHeader(this.rpc, toBlock)])
    if (end === undefined || endBefore === undefined || endAfter?.hash !== endBefore.hash) return undefined
    const transfers = this.candidateTransfers(configured.index, other, coveredToBlock)
    return { fromBlock, coveredToBlock, transfers, end, parent }
  }

  /** Transfer logs of tokens we do not support, to the (few) watched addresses: recorded as unsupported. */
  private async unsupportedTokenLogs(fromBlock: bigint, toBlock: bigint) {
    const topics = this.smallWatchList.map((address) => `0x${address.slice(2).padStart(64, '0')}`)
    const other = await getLogsShrinking(
      this.rpc,
      { fromBlock, toBlock },
      { topics: [transferTopic, null, topics] },
    )
    return {
      coveredToBlock: other.coveredToBlock,
      logs: other.logs.filter((log) => !this.tokenAddresses.includes(log.address.toLowerCase())),
    }
  }

  /** Past unsupportedTokenWatchAddressesMax addresses, only configured tokens are watched (for good). */
  private get largeWatchSet(): boolean {
    return this.smallWatchList.length > chainLimits.unsupportedTokenWatchAddressesMax
  }

  /**
   * Native coin sent to deposit addresses is recorded as unsupported. It needs every transaction of every
   * block, so it runs only near the head (short ranges) and for small watch sets.
   */
  private async nativeTransfers(fromBlock: bigint, toBlock: bigint): Promise<TokenTransferLog[]> {
    const small = this.smallWatchList.length > 0 && !this.largeWatchSet
    if (!small || toBlock - fromBlock + 1n > BigInt(chainLimits.nativeScanBlocksMax)) return []
    const found: TokenTransferLog[] = []
    for (let block = fromBlock; block <= toBlock; block += 1n) {
      found.push(...(await nativeTransfersInBlock(this.rpc, block, (address) => this.addresses.has(address))))
    }
    return found
  }

  /** Loads the addresses created since the last load; loads run one after another, never two at once. */
  private refreshAddresses(): Promise<void> {
    this.addressLoad = this.addressLoad.catch(() => {}).then(() => this.loadNewAddresses())
    return this.addressLoad
  }

  /**
   * The first load reads every address (by sequence, in parallel pages); later loads read what
   * transactions at or after the previous load's snapshot created (docs/adr/0011: `sequence` is taken at
   * insert, so it cannot tell what committed since). The next watermark is taken before reading.
   */
  private async loadNewAddresses(): Promise<void> {
    const next = await currentAddressWatermark(this.options.pool)
    if (this.addressWatermark === undefined) await this.loadAllAddresses()
    else await this.loadAddressesSince(this.addressWatermark)
    this.addressWatermark = next
  }

  /**
   * Rows while the watch set is small (the unsupported-token filter needs whole addresses), then packed
   * 8-byte prefixes: a million addresses load as 8 MB of bytes, not a million row objects. One page of
   * rows one longer than the small list decides which: it holds the whole set, or the set is large (a page
   * of addressLoadPageSize rows here was 9,000 row objects more on a large set's first tick).
   */
  private async loadAllAddresses(): Promise<void> {
    const { pool } = this.options
    const deciding = chainLimits.unsupportedTokenWatchAddressesMax + 1
    let lastSequence = 0n
    while (!this.largeWatchSet) {
      const page = await loadAddressesAfter(pool, lastSequence, deciding)
      for (const row of page) {
        this.addresses.add(row.address)
        if (!this.largeWatchSet) this.smallWatchList.push(row.address)
        lastSequence = row.sequence
      }
      if (page.length < deciding) return
    }
    await loadAddressPrefixesAfter(pool, lastSequence, {
      pageSize: chainLimits.addressPrefixLoadPageSize,
      concurrency: chainLimits.addressLoadConcurrency,
      onStart: (countAtMost) => this.addresses.reserve(Number(countAtMost)),
      onPage: (prefixes) => this.addresses.addPrefixes(prefixes),
    })
  }

  /** New addresses since `watermark`; re-read ones (of transactions then running) are already in the set. */
  private async loadAddressesSince(watermark: AddressWatermark): Promise<void> {
    const { pool } = this.options
    if (this.largeWatchSet) {
      await loadAddressPrefixesSince(pool, watermark, chainLimits.addressPrefixLoadPageSize, (prefixes) =>
        this.addresses.addPrefixes(prefixes),
      )
      return
    }
    await loadAddressesSince(pool, watermark, chainLimits.addressLoadPageSize, (addresses) => {
      for (const address of addresses) {
        if (this.addresses.add(address) && !this.largeWatchSet) this.smallWatchList.push(address)
      }
    })
  }
}

/** Both settle before a failure is thrown (a failed tick leaves no transaction of its own running); both
 * failures are thrown together, so neither goes unlogged. */
async function bothSettled<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second])
  if (a.status === 'rejected' && b.status === 'rejected')
    throw new AggregateError([a.reason, b.reason], 'both transactions of the tick failed')
  if (a.status === 'rejected') throw a.reason
  if (b.status === 'rejected') throw b.reason
  return [a.value, b.value]
}
