import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto'
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'
import { isoCBOR } from '@simplewebauthn/server/helpers'

/**
 * A WebAuthn authenticator in software for integration tests: one ES256 (P-256) key, attestation "none",
 * user verification on. It builds clientDataJSON and authenticatorData itself (only encoding: COSE key and
 * attestation object through the library's CBOR encoder), so a test can sign for the wrong origin or
 * relying party, or with any counter, and see the gateway refuse.
 */
export type CeremonyOverrides = Readonly<{
  origin?: string
  rpId?: string
  counter?: number
  userVerified?: boolean
  challenge?: string
}>

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest()

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32BE(value)
  return buffer
}

type Key = Readonly<{
  privateKey: KeyObject
  credentialId: Buffer
  coseKey: Uint8Array
  defaults: Readonly<{ origin: string; rpId: string }>
}>

const flags = (userVerified: boolean, attested: boolean) =>
  Buffer.from([0x01 | (userVerified ? 0x04 : 0) | (attested ? 0x40 : 0)])

const clientData = (type: string, challenge: string, origin: string) =>
  Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))

function registrationOf(
  key: Key,
  counter: number,
  options: PublicKeyCredentialCreationOptionsJSON,
  overrides: CeremonyOverrides,
): RegistrationResponseJSON {
  const { credentialId } = key
  const authenticatorData = Buffer.concat([
    sha256(overrides.rpId ?? key.defaults.rpId),
    flags(overrides.userVerified ?? true, true),
    uint32(overrides.counter ?? counter),
    Buffer.alloc(16),
    Buffer.from([credentialId.length >> 8, credentialId.length & 0xff]),
    credentialId,
    Buffer.from(key.coseKey),
  ])
  const attestationObject = isoCBOR.encode(
    new Map<string, string | Uint8Array | Map<string, never>>([
      ['fmt', 'none'],
      ['attStmt', new Map<string, never>()],
      ['authData', new Uint8Array(authenticatorData)],
    ]),
  )
  const challenge = overrides.challenge ?? options.challenge
  return {
    id: base64url(credentialId),
    rawId: base64url(credentialId),
    type: 'public-key',
    response: {
      clientDataJSON: base64url(
        clientData('webauthn.create', challenge, overrides.origin ?? key.defaults.origin),
      ),
      attestationObject: base64url(attestationObject),
      transports: ['internal'],
    },
    clientExtensionResults: {},
  }
}

function assertionOf(
  key: Key,
  counter: number,
  options: PublicKeyCredentialRequestOptionsJSON,
  overrides: CeremonyOverrides,
): AuthenticationResponseJSON {
  const authenticatorData = Buffer.concat([
    sha256(overrides.rpId ?? key.defaults.rpId),
    flags(overrides.userVerified ?? true, false),
    uint32(overrides.counter ?? counter),
  ])
  const clientDataJSON = clientData(
    'webauthn.get',
    overrides.challenge ?? options.challenge,
    overrides.origin ?? key.defaults.origin,
  )
  const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), key.privateKey)
  return {
    id: base64url(key.credentialId),
    rawId: base64url(key.credentialId),
    type: 'public-key',
    response: {
      clientDataJSON: base64url(clientDataJSON),
      authenticatorData: base64url(authenticatorData),
      signature: base64url(signature),
    },
    clientExtensionResults: {},
  }
}

export function createSoftwareAuthenticator(defaults: Readonly<{ origin: string; rpId: string }>) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  // COSE_Key: kty EC2 (1: 2), alg ES256 (3: -7), crv P-256 (-1: 1), x (-2), y (-3)
  const coseKey = isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y ?? '', 'base64url'))],
    ]),
  )
  const key: Key = { privateKey, credentialId: randomBytes(32), coseKey, defaults }
  let counter = 0
  return {
    credentialId: base64url(key.credentialId),
    /** navigator.credentials.create's answer to `options`. */
    register: (options: PublicKeyCredentialCreationOptionsJSON, overrides: CeremonyOverrides = {}) =>
      registrationOf(key, counter, options, overrides),
    /** navigator.credentials.get's answer to `options`; the counter goes up by one unless overridden. */
    assert(options: PublicKeyCredentialRequestOptionsJSON, overrides: CeremonyOverrides = {}) {
      if (overrides.counter === undefined) counter += 1
      return assertionOf(key, counter, options, overrides)
    },
  }
}

export type SoftwareAuthenticator = ReturnType<typeof createSoftwareAuthenticator>
