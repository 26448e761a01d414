import Fastify, { type FastifyInstance } from 'fastify'
import { AppError, isAppError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { assertCallDataPays } from './signer.calldata.ts'
import {
  signerAuthFailed,
  signerBusy,
  signerNetworkUnknown,
  signerRequestExpired,
  signerRequestInvalid,
  signerRequestReplayed,
} from './signer.errors.ts'
import { assertFeesWithinCap } from './signer.fees.ts'
import type { SigningJournal } from './signer.journal.ts'
import { signerLimits } from './signer.limits.ts'
import type { PaidItem, Signer, SigningRequest } from './signer.types.ts'
import { NonceCache, requestSignatureMatches, signerHeaders, signingRequestFromWire } from './signer.wire.ts'

/**
 * The reference remote signing service (`sluice signer serve`, docs/domain/remote-signer.md). It trusts
 * nothing the gateway says: it authenticates the request (HMAC, timestamp window, single-use nonce),
 * decodes the call data and compares it with the items, checks each item against the approved record it
 * can read, enforces the network's fee cap, and only then asks its backend (the keystore signer here; a
 * KMS or HSM in production) for the signature. Logs carry ids and codes, never the secret or signatures.
 */
export type SigningNetwork = Readonly<{ chainId: number; maxFeePerGasCapWei: bigint }>

/** Throws a typed refusal unless `item` is an approved record with exactly these fields. */
export type ApprovalCheck = (item: PaidItem, request: SigningRequest) => Promise<void>

export type SigningServerOptions = Readonly<{
  secret: Uint8Array
  networks: ReadonlyMap<string, SigningNetwork>
  backend: Signer
  checkApproved: ApprovalCheck
  /** One nonce per paid item, for ever (signer.journal.ts). */
  journal: SigningJournal
  logger: Logger
  now?: () => Date
}>

function header(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : ''
}

function authenticate(
  options: SigningServerOptions,
  nonces: NonceCache,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): void {
  const presented = {
    timestamp: header(headers[signerHeaders.timestamp]),
    nonce: header(headers[signerHeaders.nonce]),
    signature: header(headers[signerHeaders.signature]),
  }
  if (!/^\d{1,16}$/.test(presented.timestamp) || !/^[0-9a-f]{32,64}$/.test(presented.nonce))
    throw signerAuthFailed()
  if (!requestSignatureMatches(options.secret, presented, body)) throw signerAuthFailed()
  const nowMs = (options.now ?? (() => new Date()))().getTime()
  const skewMs = nowMs - Number.parseInt(presented.timestamp, 10)
  if (skewMs > signerLimits.requestWindowMs || -skewMs > signerLimits.requestWindowMs)
    throw signerRequestExpired()
  const remembered = nonces.remember(presented.nonce, nowMs)
  if (remembered === 'replayed') throw signerRequestReplayed()
  if (remembered === 'full') throw signerBusy()
}

async function handleSign(options: SigningServerOptions, request: SigningRequest) {
  const network = options.networks.get(request.network)
  if (network === undefined || network.chainId !== request.chainId)
    throw signerNetworkUnknown(request.network)
  assertCallDataPays(request)
  assertFeesWithinCap(request.transaction, network.maxFeePerGasCapWei)
  for (const item of request.pays) await options.checkApproved(item, request)
  const undo = options.journal.reserve(request)
  let signed: Awaited<ReturnType<Signer['sign']>>
  try {
    signed = await options.backend.sign(request)
  } catch (error) {
    undo()
    throw error
  }
  // Journaled before the signature leaves: a crash here loses a signature nobody received.
  await options.journal.commit(request, signed.hash)
  return signed
}

/** The Fastify app of the signing service; `listen` is the caller's (CLI or test). */
export function buildSigningServer(options: SigningServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: signerLimits.requestBodyBytesMax })
  const nonces = new NonceCache()
  app.removeContentTypeParser('application/json')
  // The HMAC covers the exact bytes received, so the body is parsed only after it is authenticated.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  )
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.post('/v1/sign', async (httpRequest, reply) => {
    const body = typeof httpRequest.body === 'string' ? httpRequest.body : ''
    let ids: string[] = []
    try {
      authenticate(options, nonces, httpRequest.headers, body)
      let parsed: unknown
      try {
        parsed = JSON.parse(body)
      } catch {
        throw signerRequestInvalid('the body is not JSON')
      }
      const request = signingRequestFromWire(parsed)
      ids = request.pays.map((item) => item.id)
      const signed = await handleSign(options, request)
      options.logger.info(
        { network: request.network, nonce: request.transaction.nonce, items: ids, hash: signed.hash },
        'signed',
      )
      return { raw_transaction: signed.rawTransaction, hash: signed.hash }
    } catch (error) {
      const refusal = isAppError(error) ? error : new AppError('signer-internal-error', 500, 'signing failed')
      options.logger.warn({ code: refusal.code, items: ids }, 'signing refused')
      if (!isAppError(error))
        options.logger.error({ err: error instanceof Error ? error.name : 'unknown' }, 'signer bug')
      return reply.code(refusal.httpStatus).send({ code: refusal.code, message: refusal.message })
    }
  })
  return app
}
