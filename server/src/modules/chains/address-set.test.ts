import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AddressSet } from './address-set.ts'

const randomAddress = () => `0x${randomBytes(20).toString('hex')}`

describe('AddressSet', () => {
  it('finds every added address in any letter case and as a log topic, and grows past its hint', () => {
    const set = new AddressSet(4)
    const addresses = Array.from({ length: 5000 }, randomAddress)
    for (const address of addresses) expect(set.add(address)).toBe(true)
    expect(set.size).toBe(5000)
    for (const address of addresses) {
      expect(set.has(address)).toBe(true)
      expect(set.has(address.toUpperCase().replace('0X', '0x'))).toBe(true)
      expect(set.has(`0x${'0'.repeat(24)}${address.slice(2)}`)).toBe(true)
    }
  })

  it('does not find addresses it was not given, and adds a duplicate once', () => {
    const set = new AddressSet()
    const address = randomAddress()
    set.add(address)
    expect(set.add(address.toUpperCase().replace('0X', '0x'))).toBe(false)
    expect(set.size).toBe(1)
    let falsePositives = 0
    for (let index = 0; index < 10_000; index += 1) if (set.has(randomAddress())) falsePositives += 1
    expect(falsePositives).toBe(0)
  })
})

describe('AddressSet.addPrefixes', () => {
  it('adds packed 8-byte prefixes that match the same addresses added as text, after a reserve', () => {
    const addresses = Array.from({ length: 3000 }, randomAddress)
    const packed = Buffer.from(addresses.map((address) => address.slice(2, 18)).join(''), 'hex')
    const set = new AddressSet()
    set.reserve(addresses.length)
    expect(set.addPrefixes(packed)).toBe(3000)
    expect(set.addPrefixes(packed.subarray(0, 80))).toBe(0)
    expect(set.size).toBe(3000)
    for (const address of addresses) expect(set.has(address)).toBe(true)
    expect(set.add(addresses[0] as string)).toBe(false)
    expect(set.has(randomAddress())).toBe(false)
  })

  it('grows to fit a page given without a reserve, and counts a prefix repeated within the page once', () => {
    const addresses = Array.from({ length: 20_000 }, randomAddress)
    const digits = addresses.map((address) => address.slice(2, 18))
    const packed = Buffer.from([...digits, ...digits.slice(0, 500)].join(''), 'hex')
    const set = new AddressSet(4)
    set.add(addresses[1] as string)
    expect(set.addPrefixes(packed)).toBe(19_999)
    expect(set.size).toBe(20_000)
    for (const address of addresses) expect(set.has(address)).toBe(true)
    for (let index = 0; index < 2_000; index += 1) expect(set.has(randomAddress())).toBe(false)
  })

  // A later address load re-reads the addresses of transactions still running at the last one: a page of
  // rows the set holds must not double its table (a review finding; a million addresses' table is 16 MiB).
  it('does not grow for a page of prefixes it already holds', () => {
    const addresses = Array.from({ length: 3000 }, randomAddress)
    const packed = Buffer.from(addresses.map((address) => address.slice(2, 18)).join(''), 'hex')
    const set = new AddressSet()
    expect(set.addPrefixes(packed)).toBe(3000)
    const capacity = (set as unknown as { used: Uint8Array }).used.length
    expect(set.addPrefixes(packed)).toBe(0)
    expect((set as unknown as { used: Uint8Array }).used.length).toBe(capacity)
    expect(set.size).toBe(3000)
  })

  it('agrees with a Set over pages with repeats, trailing bytes and offset views, on sets already holding entries', () => {
    for (let round = 0; round < 12; round += 1) {
      const set = new AddressSet([1, 4, 1024, 5000][round % 4])
      const model = new Set<string>()
      let previous = Buffer.alloc(0)
      for (let call = 0; call < 5; call += 1) {
        const textAddress = randomAddress()
        expect(set.add(textAddress)).toBe(!model.has(textAddress.slice(2, 18)))
        model.add(textAddress.slice(2, 18))
        const fresh = randomBytes(8 * ([0, 1, 7, 300, 3_000][(round + call) % 5] as number))
        // Repeats within the page and of the page before; 0–7 trailing bytes that are no prefix; a view at
        // an odd offset inside a larger buffer, as pooled Buffers are.
        const page = Buffer.concat([fresh, fresh.subarray(0, 40), previous.subarray(0, 80)])
        const backing = Buffer.concat([randomBytes(3), page, randomBytes((round + call) % 8)])
        const view = backing.subarray(3, backing.length)
        const expectedNew = new Set<string>()
        for (let offset = 0; offset + 8 <= page.length; offset += 8) {
          const key = page.subarray(offset, offset + 8).toString('hex')
          if (!model.has(key)) expectedNew.add(key)
        }
        expect(set.addPrefixes(view)).toBe(expectedNew.size)
        for (const key of expectedNew) model.add(key)
        expect(set.size).toBe(model.size)
        previous = fresh
      }
      for (const key of model) expect(set.has(`0x${key}${'00'.repeat(12)}`)).toBe(true)
    }
  })
})
