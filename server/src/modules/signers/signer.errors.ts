import { AppError } from '../../lib/errors.ts'

/**
 * Refusals of a signer, stable kebab-case codes. Messages name ids and fields, never key material, HMAC
 * secrets or signatures. The remote signer answers with the same codes; the client re-raises them.
 */
export const signerAuthFailed = () =>
  new AppError('signer-auth-failed', 401, 'the signing request is not authenticated')
export const signerRequestExpired = () =>
  new AppError('signer-request-expired', 401, 'the signing request timestamp is outside the window')
export const signerRequestReplayed = () =>
  new AppError('signer-request-replayed', 409, 'this signing request nonce was already used')
export const signerRequestInvalid = (message: string) => new AppError('signer-request-invalid', 422, message)
export const signerNetworkUnknown = (network: string) =>
  new AppError('signer-network-unknown', 422, `the signer does not sign for network ${network}`)
export const signerWrongKey = (from: string) =>
  new AppError('signer-wrong-key', 403, `the signer's key is not ${from}`)
export const signerCallDataMismatch = (reason: string) =>
  new AppError(
    'signer-call-data-mismatch',
    403,
    `the call data does not pay what the request says: ${reason}`,
  )
export const signerItemNotFound = (kind: string, id: string) =>
  new AppError('signer-item-not-found', 403, `no ${kind} ${id} to pay`)
export const signerItemNotApproved = (kind: string, id: string, status: string) =>
  new AppError('signer-item-not-approved', 403, `${kind} ${id} is ${status}, not approved for signing`)
export const signerItemMismatch = (kind: string, id: string, field: string) =>
  new AppError('signer-item-mismatch', 403, `${kind} ${id}: ${field} differs from the approved record`)
export const signerFeeOverCap = (maxFeePerGas: bigint, capWei: bigint) =>
  new AppError(
    'signer-fee-over-cap',
    403,
    `max fee ${maxFeePerGas} wei/gas is above the network's cap of ${capWei} wei/gas`,
  )
export const signerUnavailable = (reason: string, cause?: unknown) =>
  new AppError('signer-unavailable', 503, `the remote signer cannot be reached: ${reason}`, { cause })
export const signerResponseInvalid = (reason: string) =>
  new AppError('signer-response-invalid', 502, `the remote signer returned a bad signature: ${reason}`)
export const signerSecretInvalid = (reason: string) =>
  new AppError('signer-secret-invalid', 500, `the signer's shared secret file is unusable: ${reason}`)
export const signerBusy = () =>
  new AppError('signer-busy', 503, 'the signer is at its request rate limit; retry shortly')
