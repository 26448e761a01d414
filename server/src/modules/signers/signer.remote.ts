import { randomBytes } from 'node:crypto'
import { type Hex, keccak256, parseTransaction, recoverTransactionAddress } from 'viem'
import { AppError } from '../../lib/errors.ts'
import { signerResponseInvalid, signerUnavailable } from './signer.errors.ts'
import { assertFeesWithinCap } from './signer.fees.ts'
import { signerLimits } from './signer.limits.ts'
import type { SignedTransaction, Signer, SigningRequest } from './signer.types.ts'
import { signerHeaders, signingRequestToWire, signRequestBody } from './signer.wire.ts'

/**
 * The client of a remote signer (docs/domain/remote-signer.md): POST {url}/v1/sign with the unsigned
 * transaction and the items it pays, authenticated by HMAC over timestamp, nonce and body. A refusal comes
 * back as `{code, message}` and is raised with the same code. The answer is not trusted either: the signed
 * bytes must decode to exactly the transaction asked for and recover to the hot wallet, or
 * `signer-response-invalid` (a signer that signs something else must not get it broadcast).
 */
export type RemoteSignerOptions = Readonly<{
  url: string
  /** The shared secret's bytes (read from `secretFile` by signer.service.ts). Never logged. */
  secret: Uint8Array
  maxFeePerGasCapWei: bigint
  timeoutMs?: number
  now?: () => Date
}>

type RefusalBody = { code?: unknown; message?: unknown }

async function readRefusal(response: Response): Promise<AppError> {
  const body = (await response.json().catch(() => ({}))) as RefusalBody
  const code =
    typeof body.code === 'string' && /^[a-z][a-z0-9-]{0,63}$/.test(body.code) ? body.code : undefined
  if (code === undefined) return signerUnavailable(`HTTP ${response.status}`)
  const message = typeof body.message === 'string' ? body.message.slice(0, 300) : code
  return new AppError(code, response.status, message)
}

/** The signed bytes must be the requested transaction, signed by `from`. */
export async function assertSignedAsRequested(request: SigningRequest, rawTransaction: Hex): Promise<void> {
  let parsed: ReturnType<typeof parseTransaction>
  try {
    parsed = parseTransaction(rawTransaction)
  } catch {
    throw signerResponseInvalid('not a serialized transaction')
  }
  const asked = request.transaction
  const same =
    parsed.type === 'eip1559' &&
    parsed.chainId === request.chainId &&
    parsed.to?.toLowerCase() === asked.to.toLowerCase() &&
    (parsed.data ?? '0x') === asked.data &&
    (parsed.value ?? 0n) === asked.value &&
    parsed.gas === asked.gas &&
    parsed.nonce === asked.nonce &&
    parsed.maxFeePerGas === asked.maxFeePerGas &&
    parsed.maxPriorityFeePerGas === asked.maxPriorityFeePerGas
  if (!same) throw signerResponseInvalid('the signed transaction differs from the request')
  const signer = await recoverTransactionAddress({ serializedTransaction: rawTransaction as never })
  if (signer.toLowerCase() !== request.from.toLowerCase())
    throw signerResponseInvalid('signed by another key than the hot wallet')
}

export function createRemoteSigner(options: RemoteSignerOptions): Signer {
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1/sign`
  return {
    kind: 'remote',
    async sign(request): Promise<SignedTransaction> {
      assertFeesWithinCap(request.transaction, options.maxFeePerGasCapWei)
      const body = JSON.stringify(signingRequestToWire(request))
      const timestamp = (options.now ?? (() => new Date()))().getTime().toString()
      const nonce = randomBytes(16).toString('hex')
      let response: Response
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [signerHeaders.timestamp]: timestamp,
            [signerHeaders.nonce]: nonce,
            [signerHeaders.signature]: signRequestBody(options.secret, timestamp, nonce, body),
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? signerLimits.remoteTimeoutMs),
        })
      } catch (error) {
        // The cause is kept (a connection error names host and port only; headers are not in it).
        throw signerUnavailable(error instanceof Error ? error.name : 'request failed', error)
      }
      if (!response.ok) throw await readRefusal(response)
      const answer = (await response.json().catch(() => ({}))) as { raw_transaction?: unknown }
      const raw = answer.raw_transaction
      if (typeof raw !== 'string' || !/^0x[0-9a-f]+$/i.test(raw))
        throw signerResponseInvalid('no raw_transaction')
      await assertSignedAsRequested(request, raw as Hex)
      return { rawTransaction: raw as Hex, hash: keccak256(raw as Hex) }
    },
  }
}
