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
})
