import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { sanctionLimits } from './sanction.limits.ts'
import type { AddressFormat, FormatCounts, InvalidEntry, ParsedList } from './sanction.types.ts'

/**
 * Pure address classification and list parsing (no I/O): the import and the screening path share it, so a
 * list entry and a screened address are normalised by the same rules and compare as plain strings.
 */

export type Classification =
  | Readonly<{ kind: 'address'; format: AddressFormat; address: string }>
  | Readonly<{ kind: 'ignored' }>
  | Readonly<{ kind: 'invalid'; reason: string }>

const base58Alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const evmPattern = /^0x[0-9a-f]{40}$/i
const tronPattern = /^T[1-9A-HJ-NP-Za-km-z]{33}$/
const bitcoinLegacyPattern = /^[13][1-9A-HJ-NP-Za-km-z]{25,34}$/
// bech32/bech32m: human-readable part `bc`, separator `1`, data in the bech32 charset; at most 90 characters.
const bech32Pattern = /^bc1[02-9ac-hj-np-z]{11,87}$/
// Everything else the SDN carries (Monero, Zcash, Litecoin, Dash, XRP, cashaddr, Solana…): base58, hex or
// cashaddr characters. 25 is the shortest address in the feed (XRP); shorter tokens are words, not addresses.
const otherPattern = /^[A-Za-z0-9:]{25,}$/
const tronVersion = 0x41
const bitcoinVersions: ReadonlySet<number> = new Set([0x00, 0x05])

/** Decodes Base58 (Bitcoin alphabet); `undefined` if a character is outside it. */
export function decodeBase58(text: string): Uint8Array | undefined {
  let value = 0n
  for (const char of text) {
    const digit = base58Alphabet.indexOf(char)
    if (digit < 0) return undefined
    value = value * 58n + BigInt(digit)
  }
  const body: number[] = []
  while (value > 0n) {
    body.push(Number(value & 0xffn))
    value >>= 8n
  }
  // Each leading '1' encodes one leading zero byte, which the integer value cannot carry.
  let zeros = 0
  while (text[zeros] === '1') zeros += 1
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body.reverse()])
}

/** The version byte of a 25-byte Base58Check payload (version + 20-byte hash + 4-byte checksum), if valid. */
export function base58CheckVersion(text: string): number | undefined {
  const bytes = decodeBase58(text)
  if (bytes?.length !== 25) return undefined
  const payload = bytes.subarray(0, 21)
  const checksum = sha256(sha256(payload)).subarray(0, 4)
  for (let index = 0; index < 4; index += 1) if (bytes[21 + index] !== checksum[index]) return undefined
  return bytes[0]
}

function address(format: AddressFormat, normalised: string): Classification {
  return { kind: 'address', format, address: normalised }
}

function invalid(reason: string): Classification {
  return { kind: 'invalid', reason }
}

/** Classifies a trimmed, non-empty token that has no whitespace and is within the length limit. */
function classifyToken(text: string): Classification {
  if (/^0x/i.test(text)) {
    // One key controls the address on every EVM chain; checksum case (EIP-55) carries no identity.
    return evmPattern.test(text)
      ? address('evm', `0x${text.slice(2).toLowerCase()}`)
      : invalid('malformed EVM address')
  }
  if (tronPattern.test(text)) {
    // A typo in a Tron address fails the checksum and cannot receive funds: report it, never index it.
    return base58CheckVersion(text) === tronVersion
      ? address('tron', text)
      : invalid('Tron checksum mismatch')
  }
  if (bitcoinLegacyPattern.test(text)) {
    const version = base58CheckVersion(text)
    return version !== undefined && bitcoinVersions.has(version)
      ? address('bitcoin', text)
      : invalid('Base58Check checksum mismatch')
  }
  const lower = text.toLowerCase()
  if (bech32Pattern.test(lower)) {
    // bech32 is case-insensitive but must not mix cases (BIP-173); wallets show it upper-case in QR codes.
    return text === lower || text === text.toUpperCase()
      ? address('bitcoin', lower)
      : invalid('mixed-case bech32')
  }
  return otherPattern.test(text) ? address('other', text) : invalid('not a recognised address')
}

/** Classifies one list line: blank and `#` comment lines are ignored; anything unparseable is invalid. */
export function classifyListEntry(raw: string): Classification {
  // trim() also drops a UTF-8 byte-order mark and the `\r` of CRLF files.
  const text = raw.trim()
  if (text === '' || text.startsWith('#')) return { kind: 'ignored' }
  if (text.length > sanctionLimits.addressLengthMax) return invalid('too long for an address')
  if (/\s/.test(text)) return invalid('contains whitespace')
  return classifyToken(text)
}

/**
 * The lookup key for a screened address. Unrecognised input is looked up verbatim rather than refused:
 * it cannot match (lists only hold classified entries), and screening must not fail on odd input.
 */
export function normaliseForScreening(raw: string): { address: string; format: AddressFormat | null } {
  const text = raw.trim()
  const classified = classifyListEntry(text)
  return classified.kind === 'address'
    ? { address: classified.address, format: classified.format }
    : { address: text, format: null }
}

export function emptyFormatCounts(): FormatCounts {
  return { evm: 0, tron: 0, bitcoin: 0, other: 0 }
}

export function countFormats(entries: ReadonlyMap<string, AddressFormat>): FormatCounts {
  const counts = emptyFormatCounts()
  for (const format of entries.values()) counts[format] += 1
  return counts
}

const sampleTextLengthMax = 80

/** Classifies list items (lines or JSON array items), keeping distinct addresses and counting rejects. */
export function parseListItems(items: readonly unknown[]): ParsedList {
  const entries = new Map<string, AddressFormat>()
  const invalidSamples: InvalidEntry[] = []
  let invalidCount = 0
  let ignoredCount = 0
  items.forEach((item, index) => {
    const classified =
      typeof item === 'string'
        ? classifyListEntry(item)
        : invalid(`not a string (${item === null ? 'null' : typeof item})`)
    if (classified.kind === 'address') entries.set(classified.address, classified.format)
    else if (classified.kind === 'ignored') ignoredCount += 1
    else {
      invalidCount += 1
      if (invalidSamples.length < sanctionLimits.invalidSamplesMax) {
        const text = typeof item === 'string' ? item.trim() : String(JSON.stringify(item))
        invalidSamples.push({
          line: index + 1,
          text: text.slice(0, sampleTextLengthMax),
          reason: classified.reason,
        })
      }
    }
  })
  return { entries, invalidSamples, invalidCount, ignoredCount }
}

export type ParseOutcome = Readonly<{ ok: true; list: ParsedList }> | Readonly<{ ok: false; reason: string }>

/** Parses a list file's text: `txt` is one address per line, `json` an array of address strings. */
export function parseListContent(text: string, kind: 'txt' | 'json'): ParseOutcome {
  if (kind === 'txt') return { ok: true, list: parseListItems(text.split('\n')) }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { ok: false, reason: `not valid JSON (${error instanceof Error ? error.message : String(error)})` }
  }
  if (!Array.isArray(value)) return { ok: false, reason: 'JSON list must be an array of address strings' }
  return { ok: true, list: parseListItems(value) }
}

/**
 * Identity of a list's content: SHA-256 over its sorted normalised addresses. Independent of file format,
 * order, duplicates, comments and junk lines, so the `.json` twin of a `.txt` list or a reformatted file is
 * recognised as the same content, while a changed normalisation rule yields a new version.
 */
export function listContentHash(addresses: Iterable<string>): string {
  const sorted = [...addresses].sort()
  return bytesToHex(sha256(utf8ToBytes(sorted.join('\n'))))
}
