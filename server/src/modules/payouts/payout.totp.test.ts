import { describe, expect, it } from 'vitest'
import { decodeBase32, encodeBase32, hotp, newTotpSecret, totpAt, verifyTotp } from './payout.totp.ts'

// RFC 6238 Appendix B, SHA-1, secret "12345678901234567890"; the RFC shows 8 digits, we use the last 6.
const rfcSecret = encodeBase32(new TextEncoder().encode('12345678901234567890'))
const rfcVectors: readonly [bigint, string][] = [
  [59n, '94287082'],
  [1111111109n, '07081804'],
  [1111111111n, '14050471'],
  [1234567890n, '89005924'],
  [2000000000n, '69279037'],
  [20000000000n, '65353130'],
]

describe('TOTP (RFC 6238)', () => {
  it.each(rfcVectors)('at %s s the code is …%s', (seconds, code) => {
    expect(totpAt(rfcSecret, seconds)).toBe(code.slice(2))
  })

  it('RFC 4226 HOTP vectors', () => {
    const secret = new TextEncoder().encode('12345678901234567890')
    expect([0n, 1n, 2n, 9n].map((counter) => hotp(secret, counter))).toEqual([
      '755224',
      '287082',
      '359152',
      '520489',
    ])
  })

  it('accepts the previous and next step, refuses two steps away', () => {
    const secret = newTotpSecret()
    const now = 1_700_000_015n
    const step = now / 30n
    expect(verifyTotp(secret, totpAt(secret, now), now)).toBe(step)
    expect(verifyTotp(secret, totpAt(secret, now - 30n), now)).toBe(step - 1n)
    expect(verifyTotp(secret, totpAt(secret, now + 30n), now)).toBe(step + 1n)
    const farPast = totpAt(secret, now - 60n)
    const farFuture = totpAt(secret, now + 60n)
    const nearCodes = [-30n, 0n, 30n].map((delta) => totpAt(secret, now + delta))
    if (!nearCodes.includes(farPast)) expect(verifyTotp(secret, farPast, now)).toBeUndefined()
    if (!nearCodes.includes(farFuture)) expect(verifyTotp(secret, farFuture, now)).toBeUndefined()
    expect(verifyTotp(secret, '12345', now)).toBeUndefined()
    expect(verifyTotp(secret, 'abcdef', now)).toBeUndefined()
  })

  it('base32 round-trips', () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255, 17, 99, 3, 4, 5])
    expect(decodeBase32(encodeBase32(bytes))).toEqual(bytes)
    expect(newTotpSecret()).toMatch(/^[A-Z2-7]{32}$/)
  })
})
