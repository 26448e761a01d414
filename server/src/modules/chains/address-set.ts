/**
 * The set of watched EVM addresses, compact enough for millions: each address is kept as its first
 * 8 bytes (two uint32 words) in an open-addressing table with linear probing, 8 bytes a slot at a load
 * factor ≤ 1/2 — 1,000,000 addresses take 16 MiB, where a Set of strings takes over 100 MiB.
 *
 * A hit is a candidate, not a proof: two addresses sharing their first 8 bytes collide with
 * probability ~n/2^64, so callers confirm hits against the database (which they do anyway to learn
 * who owns the address). A miss is certain.
 */
export class AddressSet {
  private high: Uint32Array
  private low: Uint32Array
  private used: Uint8Array
  private count = 0

  constructor(capacityHint = 1024) {
    let capacity = 1024
    while (capacity < capacityHint * 2) capacity *= 2
    this.high = new Uint32Array(capacity)
    this.low = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
  }

  get size(): number {
    return this.count
  }

  /** Adds an address (0x-prefixed, any letter case); returns false if it was already there. */
  add(address: string): boolean {
    if (this.count * 2 >= this.used.length) this.grow()
    return this.insert(prefixWord(address, 2), prefixWord(address, 10))
  }

  /**
   * Adds addresses given as their packed 8-byte prefixes (big-endian, 8 bytes each, as loaded from the
   * database without a string or row object per address); returns how many were new. Inserted in the
   * order of their home slots, not as given: a million prefixes inserted as given each cost a cache miss
   * in three tables of 2–16 MiB (~150 ns an insert on the deposits bench's host), and in slot order
   * consecutive inserts touch neighbouring slots: a million, in ten pages, took about half the time.
   */
  addPrefixes(prefixes: Uint8Array): number {
    const view = new DataView(prefixes.buffer, prefixes.byteOffset, prefixes.byteLength)
    const count = prefixes.byteLength >>> 3
    this.reserve(this.wouldOutgrow(count) ? this.newAmong(view, count) : count)
    const mask = this.used.length - 1
    // Counting sort of the prefixes by the top bits of their home slot (a bucket spans ≥ 64 slots).
    const bucketBits = Math.max(0, Math.min(slotOrderBucketBitsMax, Math.log2(this.used.length) - 6))
    const shift = Math.log2(this.used.length) - bucketBits
    const bucketStarts = new Uint32Array((1 << bucketBits) + 1)
    const homes = new Uint32Array(count)
    for (let index = 0; index < count; index += 1) {
      const home = mix(view.getUint32(index * 8), view.getUint32(index * 8 + 4)) & mask
      homes[index] = home
      bucketStarts[(home >>> shift) + 1] = (bucketStarts[(home >>> shift) + 1] as number) + 1
    }
    for (let bucket = 1; bucket < bucketStarts.length; bucket += 1)
      bucketStarts[bucket] = (bucketStarts[bucket] as number) + (bucketStarts[bucket - 1] as number)
    const order = new Uint32Array(count)
    for (let index = 0; index < count; index += 1) {
      const bucket = (homes[index] as number) >>> shift
      const position = bucketStarts[bucket] as number
      order[position] = index
      bucketStarts[bucket] = position + 1
    }
    let added = 0
    for (let position = 0; position < count; position += 1) {
      const index = order[position] as number
      if (this.insertAt(homes[index] as number, view.getUint32(index * 8), view.getUint32(index * 8 + 4)))
        added += 1
    }
    return added
  }

  private wouldOutgrow(additional: number): boolean {
    return (this.count + additional) * 2 > this.used.length
  }

  /**
   * How many of the page's prefixes the set lacks. Asked only before a growth: a page of addresses read
   * again (a later load re-reads those of transactions that were still running) would otherwise double
   * the table for rows it already holds.
   */
  private newAmong(view: DataView, count: number): number {
    let missing = 0
    for (let index = 0; index < count; index += 1)
      if (!this.hasPrefix(view.getUint32(index * 8), view.getUint32(index * 8 + 4))) missing += 1
    return missing
  }

  /** Makes room for `additional` more addresses at once (one allocation instead of repeated doubling). */
  reserve(additional: number): void {
    let capacity = this.used.length
    while (capacity < (this.count + additional) * 2) capacity *= 2
    if (capacity > this.used.length) this.grow(capacity)
  }

  /** `address` may be a 0x address or a 32-byte log topic (the address is its last 20 bytes). */
  has(addressOrTopic: string): boolean {
    const offset = addressOrTopic.length === 66 ? 26 : 2
    return this.hasPrefix(prefixWord(addressOrTopic, offset), prefixWord(addressOrTopic, offset + 8))
  }

  /** An address given as its first 8 bytes, as two big-endian words. */
  hasPrefix(high: number, low: number): boolean {
    const mask = this.used.length - 1
    for (let slot = mix(high, low) & mask; this.used[slot] === 1; slot = (slot + 1) & mask) {
      if (this.high[slot] === high && this.low[slot] === low) return true
    }
    return false
  }

  private insert(high: number, low: number): boolean {
    return this.insertAt(mix(high, low) & (this.used.length - 1), high, low)
  }

  /** Inserts at `home` (the prefix's slot before probing); the caller has made room. */
  private insertAt(home: number, high: number, low: number): boolean {
    const mask = this.used.length - 1
    let slot = home
    while (this.used[slot] === 1) {
      if (this.high[slot] === high && this.low[slot] === low) return false
      slot = (slot + 1) & mask
    }
    this.used[slot] = 1
    this.high[slot] = high
    this.low[slot] = low
    this.count += 1
    return true
  }

  private grow(capacity = this.used.length * 2): void {
    const { high, low, used } = this
    this.high = new Uint32Array(capacity)
    this.low = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
    this.count = 0
    for (let slot = 0; slot < used.length; slot += 1) {
      if (used[slot] === 1) this.insert(high[slot] as number, low[slot] as number)
    }
  }
}

/** At most 2^12 buckets for the slot-order insert: 16 KiB of counts, whatever the table's size. */
const slotOrderBucketBitsMax = 12

function prefixWord(hex: string, offset: number): number {
  return Number.parseInt(hex.slice(offset, offset + 8), 16) >>> 0
}

/** Addresses are hashes already, but mixing guards against crafted prefixes clustering in one run. */
function mix(high: number, low: number): number {
  let value = (high ^ Math.imul(low, 0x9e3779b1)) >>> 0
  value = Math.imul(value ^ (value >>> 16), 0x85ebca6b) >>> 0
  return (value ^ (value >>> 13)) >>> 0
}
