import { randomBytes } from 'node:crypto'
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'

/**
 * RFC 6238 TOTP (HMAC-SHA1, 30 s step, 6 digits), the parameters every authenticator app defaults to.
 * Codes of the previous and next step are accepted too (±1 step): phone clocks drift by seconds.
 */
export const totpStepSeconds = 30n
export const totpDigits = 6
export const totpWindowSteps = 1n
const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** A new 160-bit secret (RFC 4226 recommends ≥ 160 bits), as base32 for authenticator apps. */
export function newTotpSecret(): string {
  return encodeBase32(randomBytes(20))
}

export function encodeBase32(bytes: Uint8Array): string {
  let bits = 0
  let value = 0
  let text = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      text += base32Alphabet.charAt((value >>> (bits - 5)) & 31)
      bits -= 5
    }
  }
  if (bits > 0) text += base32Alphabet.charAt((value << (5 - bits)) & 31)
  return text
}

export function decodeBase32(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '').toUpperCase()
  const bytes: number[] = []
  let bits = 0
  let value = 0
  for (const char of clean) {
    const index = base32Alphabet.indexOf(char)
    if (index < 0) throw new Error('secret is not base32')
    value = ((value << 5) | index) & 0xffff
    bits += 5
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Uint8Array.from(bytes)
}

/** RFC 4226 HOTP of `counter` (dynamic truncation), zero-padded to six digits. */
export function hotp(secret: Uint8Array, counter: bigint): string {
  const message = new Uint8Array(8)
  new DataView(message.buffer).setBigUint64(0, counter)
  const mac = hmac(sha1, secret, message)
  const offset = (mac[19] ?? 0) & 0x0f
  const code =
    (((mac[offset] ?? 0) & 0x7f) << 24) |
    ((mac[offset + 1] ?? 0) << 16) |
    ((mac[offset + 2] ?? 0) << 8) |
    (mac[offset + 3] ?? 0)
  return (code % 1_000_000).toString().padStart(totpDigits, '0')
}

/** The TOTP code at `unixSeconds`. */
export function totpAt(secretBase32: string, unixSeconds: bigint): string {
  return hotp(decodeBase32(secretBase32), unixSeconds / totpStepSeconds)
}

/**
 * Whether `code` is valid at `unixSeconds` within ±1 step. Returns the matching step so a caller can
 * refuse a replay of a code already used (a step may be used once per approver).
 */
export function verifyTotp(secretBase32: string, code: string, unixSeconds: bigint): bigint | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined
  const secret = decodeBase32(secretBase32)
  const step = unixSeconds / totpStepSeconds
  for (let delta = -totpWindowSteps; delta <= totpWindowSteps; delta += 1n) {
    if (step + delta >= 0n && hotp(secret, step + delta) === code) return step + delta
  }
  return undefined
}
