import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  base58CheckVersion,
  classifyListEntry,
  decodeBase58,
  listContentHash,
  normaliseForScreening,
  parseListContent,
} from './sanction.format.ts'

const base58Alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

// Test-only encoder, so property tests can mint valid Base58Check addresses.
function encodeBase58Check(payload: Uint8Array): string {
  const bytes = Uint8Array.from([...payload, ...sha256(sha256(payload)).subarray(0, 4)])
  let value = bytes.reduce((sum, byte) => sum * 256n + BigInt(byte), 0n)
  let text = ''
  while (value > 0n) {
    text = base58Alphabet.charAt(Number(value % 58n)) + text
    value /= 58n
  }
  for (const byte of bytes) {
    if (byte !== 0) break
    text = `1${text}`
  }
  return text
}

// Real SDN entries (data/sanctions, 2024 snapshot).
const tronListed = 'TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq' // labelled XBT in the SDN
const evmMixedCase = '0x8589427373D6D84E98730D7795D8f6f8731FDA16'
const bitcoinP2pkh = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'
const bitcoinP2sh = '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy'
const bech32 = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'

/** Replaces the character at `index` with a different Base58 character. */
function mutate(text: string, index: number): string {
  const current = text.charAt(index)
  const replacement = current === 'z' ? 'y' : 'z'
  return text.slice(0, index) + replacement + text.slice(index + 1)
}

describe('classifyListEntry: EVM', () => {
  it('lower-cases mixed-case (EIP-55) and keeps lower-case addresses', () => {
    expect(classifyListEntry(evmMixedCase)).toEqual({
      kind: 'address',
      format: 'evm',
      address: evmMixedCase.toLowerCase(),
    })
    expect(classifyListEntry(evmMixedCase.toLowerCase())).toEqual(classifyListEntry(evmMixedCase))
    expect(classifyListEntry(`0X${evmMixedCase.slice(2).toUpperCase()}`)).toEqual(
      classifyListEntry(evmMixedCase),
    )
  })

  it('rejects 0x strings that are not 40 hex digits', () => {
    expect(classifyListEntry('0x1234')).toMatchObject({ kind: 'invalid', reason: 'malformed EVM address' })
    expect(classifyListEntry(`${evmMixedCase}00`)).toMatchObject({ kind: 'invalid' })
    expect(classifyListEntry(`0x${'g'.repeat(40)}`)).toMatchObject({ kind: 'invalid' })
  })

  it('maps every letter-case variant of an address to one key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (bytes, upper) => {
          const hex = Buffer.from(bytes).toString('hex')
          const mixed = [...hex]
            .map((char, index) => (upper[index] === true ? char.toUpperCase() : char))
            .join('')
          expect(classifyListEntry(`0x${mixed}`)).toEqual({
            kind: 'address',
            format: 'evm',
            address: `0x${hex}`,
          })
        },
      ),
    )
  })
})

describe('classifyListEntry: Tron', () => {
  it('accepts a valid T-address as-is, whatever list it came from', () => {
    expect(classifyListEntry(tronListed)).toEqual({ kind: 'address', format: 'tron', address: tronListed })
    expect(base58CheckVersion(tronListed)).toBe(0x41)
  })

  it('rejects a T-address whose checksum does not match', () => {
    expect(classifyListEntry(mutate(tronListed, 33))).toEqual({
      kind: 'invalid',
      reason: 'Tron checksum mismatch',
    })
    expect(classifyListEntry(mutate(tronListed, 10))).toEqual({
      kind: 'invalid',
      reason: 'Tron checksum mismatch',
    })
  })

  it('accepts any Base58Check payload with version 0x41 and rejects it after a one-character change', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.integer({ min: 1, max: 33 }),
        (hash, index) => {
          const tron = encodeBase58Check(Uint8Array.from([0x41, ...hash]))
          expect(classifyListEntry(tron)).toEqual({ kind: 'address', format: 'tron', address: tron })
          expect(classifyListEntry(mutate(tron, index)).kind).toBe('invalid')
        },
      ),
    )
  })
})

describe('classifyListEntry: Bitcoin and other formats', () => {
  it('accepts Base58Check P2PKH and P2SH addresses case-sensitively', () => {
    expect(classifyListEntry(bitcoinP2pkh)).toEqual({
      kind: 'address',
      format: 'bitcoin',
      address: bitcoinP2pkh,
    })
    expect(classifyListEntry(bitcoinP2sh)).toEqual({
      kind: 'address',
      format: 'bitcoin',
      address: bitcoinP2sh,
    })
    expect(classifyListEntry(mutate(bitcoinP2pkh, 20))).toEqual({
      kind: 'invalid',
      reason: 'Base58Check checksum mismatch',
    })
  })

  it('lower-cases bech32 (upper-case is the same address) and rejects mixed case', () => {
    expect(classifyListEntry(bech32)).toEqual({ kind: 'address', format: 'bitcoin', address: bech32 })
    expect(classifyListEntry(bech32.toUpperCase())).toEqual({
      kind: 'address',
      format: 'bitcoin',
      address: bech32,
    })
    expect(classifyListEntry(`bc1Q${bech32.slice(4)}`)).toEqual({
      kind: 'invalid',
      reason: 'mixed-case bech32',
    })
  })

  it('keeps other chains verbatim (Monero, Zcash, cashaddr, XRP)', () => {
    const others = [
      '49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL',
      't1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL',
      'qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq',
      'rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66',
    ]
    for (const other of others)
      expect(classifyListEntry(other)).toEqual({ kind: 'address', format: 'other', address: other })
  })
})

describe('classifyListEntry: noise and garbage', () => {
  it('ignores blank, whitespace-only and # comment lines', () => {
    for (const line of ['', '   ', '\t\r', '# OFAC SDN, 2024-09-27', '   # indented comment']) {
      expect(classifyListEntry(line)).toEqual({ kind: 'ignored' })
    }
  })

  it('trims surrounding whitespace, CR and a byte-order mark', () => {
    expect(classifyListEntry(`  ${tronListed}\r`)).toMatchObject({ kind: 'address', address: tronListed })
    expect(classifyListEntry(`\uFEFF${evmMixedCase}`)).toMatchObject({ kind: 'address', format: 'evm' })
  })

  it('reports garbage as invalid with a reason', () => {
    expect(classifyListEntry('hello')).toEqual({ kind: 'invalid', reason: 'not a recognised address' })
    expect(classifyListEntry('not-an-address-at-all-but-long-enough')).toMatchObject({ kind: 'invalid' })
    expect(classifyListEntry(`${tronListed} ${tronListed}`)).toEqual({
      kind: 'invalid',
      reason: 'contains whitespace',
    })
    expect(classifyListEntry('A'.repeat(129))).toEqual({ kind: 'invalid', reason: 'too long for an address' })
    expect(classifyListEntry('<html><body>rate limited</body></html>')).toMatchObject({ kind: 'invalid' })
  })

  it('never throws, whatever the line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (line) => {
        expect(['address', 'ignored', 'invalid']).toContain(classifyListEntry(line).kind)
      }),
    )
  })
})

describe('parseListContent', () => {
  it('keeps distinct addresses and counts invalid and ignored lines', () => {
    const text = `# header\n${evmMixedCase}\n${evmMixedCase.toLowerCase()}\n\ngarbage line\n${tronListed}\r\n0x12\n`
    const outcome = parseListContent(text, 'txt')
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect([...outcome.list.entries]).toEqual([
      [evmMixedCase.toLowerCase(), 'evm'],
      [tronListed, 'tron'],
    ])
    expect(outcome.list.invalidCount).toBe(2)
    expect(outcome.list.invalidSamples.map((sample) => sample.line)).toEqual([5, 7])
    expect(outcome.list.ignoredCount).toBe(3)
  })

  it('reads a JSON array and counts non-string items as invalid', () => {
    const outcome = parseListContent(JSON.stringify([tronListed, 42, null, bitcoinP2pkh]), 'json')
    expect(outcome.ok && outcome.list.entries.size === 2 && outcome.list.invalidCount === 2).toBe(true)
  })

  it('refuses JSON that is not an array of strings', () => {
    expect(parseListContent('{"a":1}', 'json')).toMatchObject({ ok: false })
    expect(parseListContent('[not json', 'json')).toMatchObject({ ok: false })
  })
})

describe('listContentHash and screening keys', () => {
  it('ignores order and duplicates', () => {
    expect(listContentHash(['b', 'a'])).toBe(listContentHash(['a', 'b']))
    expect(listContentHash(['a'])).not.toBe(listContentHash(['a', 'b']))
  })

  it('normalises screened input like list entries and passes unrecognised input through', () => {
    expect(normaliseForScreening(` ${evmMixedCase.toUpperCase().replace('0X', '0x')} `)).toEqual({
      address: evmMixedCase.toLowerCase(),
      format: 'evm',
    })
    expect(normaliseForScreening('some-merchant-label')).toEqual({
      address: 'some-merchant-label',
      format: null,
    })
  })

  it('decodes leading 1s as zero bytes', () => {
    expect(decodeBase58('11')).toEqual(Uint8Array.from([0, 0]))
    expect(decodeBase58('0OIl')).toBeUndefined()
  })
})
