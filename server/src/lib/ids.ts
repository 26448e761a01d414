import { randomBytes } from 'node:crypto'

/**
 * Prefixed ULIDs (`inv_01J…`): sortable by creation time, unguessable, and self-describing in logs.
 * Chain facts use natural keys instead (network, tx hash, log index).
 */
const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

export type IdPrefix =
  | 'mer'
  | 'key'
  | 'evt'
  | 'req'
  | 'acc'
  | 'trf'
  | 'inv'
  | 'pay'
  | 'po'
  | 'whk'
  | 'cus'
  | 'dep'
  | 'sec'
  | 'lnk'
  | 'rfd'
  | 'swp'
  | 'ses'
  | 'psk'

function encodeTime(milliseconds: number): string {
  let value = BigInt(milliseconds)
  let text = ''
  for (let index = 0; index < 10; index += 1) {
    text = crockford.charAt(Number(value % 32n)) + text
    value /= 32n
  }
  return text
}

function encodeRandom(): string {
  const bytes = randomBytes(16)
  let text = ''
  for (let index = 0; index < 16; index += 1) text += crockford.charAt((bytes[index] ?? 0) % 32)
  return text
}

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  return `${prefix}_${encodeTime(nowMs)}${encodeRandom()}`
}
