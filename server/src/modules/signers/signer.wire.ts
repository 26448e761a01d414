import { createHmac, timingSafeEqual } from 'node:crypto'
import { type Address, getAddress, type Hex } from 'viem'
import { z } from 'zod'
import { signerRequestInvalid } from './signer.errors.ts'
import { signerLimits } from './signer.limits.ts'
import type { SigningRequest } from './signer.types.ts'

/**
 * The remote signer's wire format (docs/domain/remote-signer.md). Amounts, gas and fees are decimal
 * strings (bigint on both ends); addresses are 0x hex. Authentication is HMAC-SHA256 over
 * `timestamp.nonce.body` with a shared secret, sent in three headers.
 */
export const signerHeaders = {
  timestamp: 'x-sluice-signer-timestamp',
  nonce: 'x-sluice-signer-nonce',
  signature: 'x-sluice-signer-signature',
} as const

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/)
const unsigned = z.string().regex(/^(0|[1-9][0-9]{0,77})$/)
const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/)

const requestSchema = z.strictObject({
  network: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  chain_id: z.number().int().min(1),
  from: address,
  transaction: z.strictObject({
    to: address,
    data: hex,
    value: unsigned,
    gas: unsigned,
    nonce: z.number().int().min(0),
    max_fee_per_gas: unsigned,
    max_priority_fee_per_gas: unsigned,
  }),
  pays: z
    .array(
      z.strictObject({
        kind: z.enum(['payout', 'treasury-sweep']),
        id: z.string().regex(/^[a-z]{2,4}_[0-9A-Z]{26}$/),
        merchant_id: z
          .string()
          .regex(/^mer_[0-9A-Z]{26}$/)
          .nullable(),
        revision: z.number().int().min(0),
        token_address: address,
        destination: address,
        amount: unsigned,
      }),
    )
    .min(1)
    .max(signerLimits.paidItemsMax),
})

export type SigningRequestWire = z.infer<typeof requestSchema>

export function signingRequestToWire(request: SigningRequest): SigningRequestWire {
  const { transaction } = request
  return {
    network: request.network,
    chain_id: request.chainId,
    from: request.from,
    transaction: {
      to: transaction.to,
      data: transaction.data,
      value: transaction.value.toString(),
      gas: transaction.gas.toString(),
      nonce: transaction.nonce,
      max_fee_per_gas: transaction.maxFeePerGas.toString(),
      max_priority_fee_per_gas: transaction.maxPriorityFeePerGas.toString(),
    },
    pays: request.pays.map((item) => ({
      kind: item.kind,
      id: item.id,
      merchant_id: item.merchantId,
      revision: item.revision,
      token_address: item.tokenAddress,
      destination: item.destination,
      amount: item.amount.toString(),
    })),
  }
}

/** Parses a request body; `signer-request-invalid` names the first bad path (never its value). */
export function signingRequestFromWire(body: unknown): SigningRequest {
  const parsed = requestSchema.safeParse(body)
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join('.') ?? '(root)'
    throw signerRequestInvalid(`invalid field ${path === '' ? '(root)' : path}`)
  }
  const wire = parsed.data
  const checksum = (text: string): Address => getAddress(text)
  return {
    network: wire.network,
    chainId: wire.chain_id,
    from: checksum(wire.from),
    transaction: {
      to: checksum(wire.transaction.to),
      data: wire.transaction.data as Hex,
      value: BigInt(wire.transaction.value),
      gas: BigInt(wire.transaction.gas),
      nonce: wire.transaction.nonce,
      maxFeePerGas: BigInt(wire.transaction.max_fee_per_gas),
      maxPriorityFeePerGas: BigInt(wire.transaction.max_priority_fee_per_gas),
    },
    pays: wire.pays.map((item) => ({
      kind: item.kind,
      id: item.id,
      merchantId: item.merchant_id,
      revision: item.revision,
      tokenAddress: checksum(item.token_address),
      destination: checksum(item.destination),
      amount: BigInt(item.amount),
    })),
  }
}

/** HMAC-SHA256(secret, `${timestamp}.${nonce}.${body}`) as lower-case hex. */
export function signRequestBody(secret: Uint8Array, timestamp: string, nonce: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${nonce}.${body}`).digest('hex')
}

/** Constant-time comparison of the presented signature with the expected one. */
export function requestSignatureMatches(
  secret: Uint8Array,
  headers: Readonly<{ timestamp: string; nonce: string; signature: string }>,
  body: string,
): boolean {
  const expected = Buffer.from(signRequestBody(secret, headers.timestamp, headers.nonce, body), 'hex')
  const presented = Buffer.from(/^[0-9a-f]{64}$/.test(headers.signature) ? headers.signature : '', 'hex')
  return presented.length === expected.length && timingSafeEqual(presented, expected)
}

/**
 * Remembers nonces as long as a request carrying them could still pass the timestamp check (twice the
 * window: a timestamp may be up to one window early or late). Bounded; when full of live nonces it
 * refuses new ones rather than forget one that could then be replayed.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>()

  remember(nonce: string, nowMs: number): 'new' | 'replayed' | 'full' {
    for (const [old, at] of this.seen) {
      if (at >= nowMs - 2 * signerLimits.requestWindowMs) break
      this.seen.delete(old)
    }
    if (this.seen.has(nonce)) return 'replayed'
    if (this.seen.size >= signerLimits.nonceCacheEntriesMax) return 'full'
    this.seen.set(nonce, nowMs)
    return 'new'
  }
}
