import { assert } from '../../lib/assert.ts'
import { webhookLimits } from './webhook.limits.ts'

/**
 * Why a webhook attempt got no answer, as the store sees it: one of a fixed set of classes, each with a
 * fixed message. Never the network's own text: `connect ECONNREFUSED 10.0.0.5:443`, a TLS alert or a
 * resolver's answer would tell a store with a webhooks key which of the operator's hosts and ports are
 * open (security review, 2026-11-22). The operator's log keeps the underlying code and message
 * (`failureCause`). Classes are added at the end and never renamed; the SDK keeps a copy
 * (`webhookDeliveryErrors`, asserted equal by a server test).
 *
 * A receiver that answered is not a failure here: its status is stored apart (`status_code`), and an
 * attempt has either a status or one of these (a CHECK in migration 0008).
 */
export const deliveryErrorMessages = {
  'address-refused':
    'The host did not resolve to a public address (loopback, private, link-local and reserved are refused).',
  // Only for endpoints the operator allows to be local or insecure; a store's endpoint gets
  // address-refused for a name that does not resolve too (webhook.sender.ts).
  'dns-failed': 'The host name did not resolve.',
  'connection-refused': 'The receiver refused the connection.',
  'connection-reset': 'The connection closed before a complete answer arrived.',
  'host-unreachable': "No route to the receiver's network.",
  timeout: 'No complete answer within the time limit of an attempt.',
  'tls-failed': "The TLS handshake or the check of the receiver's certificate failed.",
  'response-invalid': 'The answer was not valid HTTP.',
  aborted: 'The gateway stopped during the attempt.',
  'endpoint-disabled': 'The endpoint was disabled before the delivery succeeded.',
  other: "The attempt failed for another reason (the operator's log has the details).",
} as const

export type DeliveryError = keyof typeof deliveryErrorMessages

export const deliveryErrors = Object.keys(deliveryErrorMessages) as readonly DeliveryError[]

const deliveryErrorSet: ReadonlySet<string> = new Set(deliveryErrors)

assert(
  deliveryErrors.every(
    (name) => /^[a-z]+(-[a-z]+)*$/.test(name) && name.length <= webhookLimits.attemptErrorLengthMax,
  ),
  'delivery error classes are kebab-case and fit the attempt error column',
)

export function isDeliveryError(text: string): text is DeliveryError {
  return deliveryErrorSet.has(text)
}

const classByCode: Readonly<Record<string, DeliveryError>> = {
  ECONNREFUSED: 'connection-refused',
  ECONNRESET: 'connection-reset',
  EPIPE: 'connection-reset',
  ECONNABORTED: 'connection-reset',
  ERR_STREAM_PREMATURE_CLOSE: 'connection-reset',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  ENETUNREACH: 'host-unreachable',
  EHOSTUNREACH: 'host-unreachable',
  EHOSTDOWN: 'host-unreachable',
  ENETDOWN: 'host-unreachable',
  EADDRNOTAVAIL: 'host-unreachable',
  ENOTFOUND: 'dns-failed',
  EAI_AGAIN: 'dns-failed',
  EAI_FAIL: 'dns-failed',
  EAI_NODATA: 'dns-failed',
  EAI_NONAME: 'dns-failed',
  EPROTO: 'tls-failed',
  ABORT_ERR: 'aborted',
  AbortError: 'aborted',
}

// OpenSSL's certificate verification results, which Node reports as the error's code.
const certificateCodes: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
])

/** The class of an error code of node:net, node:tls, node:http or node:dns ('other' when unknown). */
export function deliveryErrorOfCode(code: string): DeliveryError {
  const known = classByCode[code]
  if (known !== undefined) return known
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || certificateCodes.has(code))
    return 'tls-failed'
  // llhttp's parse errors: the receiver answered something that is not HTTP/1.x.
  if (code.startsWith('HPE_')) return 'response-invalid'
  return 'other'
}

/** The class of an error thrown while sending a POST (no answer arrived). */
export function deliveryErrorOf(error: unknown): DeliveryError {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return deliveryErrorOfCode(code)
  return error instanceof Error && error.name === 'AbortError' ? 'aborted' : 'other'
}

/**
 * What rows written before the classes held, shown as a class: `ECONNREFUSED`, `dns: ENOTFOUND`,
 * `address-refused: …`, `endpoint disabled`, or a code with text after it. Classes pass unchanged.
 */
export function deliveryErrorOfStored(text: string | null): DeliveryError | null {
  if (text === null || isDeliveryError(text)) return text
  if (text.startsWith('address-refused')) return 'address-refused'
  if (text.startsWith('dns:')) return 'dns-failed'
  if (text === 'endpoint disabled') return 'endpoint-disabled'
  return deliveryErrorOfCode(/^[A-Za-z0-9_]+/.exec(text)?.[0] ?? '')
}

/** Characters of an error's message kept in the log: enough to tell causes apart, never a stack. */
const causeMessageLengthMax = 300

/**
 * The underlying error for the operator's log: its code and message only. Not the error itself: an HTTP
 * parse error carries the receiver's raw bytes (`rawPacket`), and logs never hold response bodies.
 */
export function failureCause(error: unknown): Readonly<{ code: string; message: string }> {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  return {
    code: typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown',
    message: message.slice(0, causeMessageLengthMax),
  }
}
