import { createHash, randomBytes } from 'node:crypto'
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import {
  decodeAttestationObject,
  decodeClientDataJSON,
  isoBase64URL,
  parseAuthenticatorData,
} from '@simplewebauthn/server/helpers'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { type ErrorDetail, isAppError } from '../../lib/errors.ts'
import { newId } from '../../lib/ids.ts'
import {
  approvePolicyWithVerifiedFactor,
  consumeApproverTotp,
  decidePayoutWithVerifiedFactor,
  getApprover,
} from '../payouts/payout.service.ts'
import type { Payout } from '../payouts/payout.types.ts'
import * as errors from './passkey.errors.ts'
import * as repo from './passkey.repo.ts'
import type {
  Passkey,
  PasskeyAction,
  PasskeyChallenge,
  PasskeyChallengePurpose,
  RelyingParty,
} from './passkey.types.ts'
import * as sessionErrors from './session.errors.ts'
import { passkeyLimits, sessionLimits } from './session.limits.ts'
import * as sessionRepo from './session.repo.ts'
import { hashSessionToken } from './session.service.ts'
import type { DashboardSession, SignedIn } from './session.types.ts'

/**
 * Passkeys (WebAuthn) for dashboard users: registration, sign-in (a passkey with user verification counts
 * as both factors), and a second factor for payout decisions, policy activation and passkey removal.
 * Every ceremony uses a random challenge stored (hashed) server-side with its purpose, person and — for
 * approvals — the exact action, single-use and short-lived. COSE/CBOR and signatures are
 * @simplewebauthn/server's. docs/adr/0019-passkeys.md.
 */

/** Who is acting (a dashboard session) and where (the relying party the browser saw), and when. */
export type PasskeyContext = Readonly<{
  relyingParty: RelyingParty
  now: Date
  /** Where refusals an operator must hear about go (a counter regression: a cloned authenticator?). */
  warn: (fields: Readonly<Record<string, string | number>>, message: string) => void
}>

type Person = Readonly<{ approverId: string; merchantId: string }>

export type PasskeyView = Omit<Passkey, 'publicKey'>

const hashChallenge = (challenge: string) => createHash('sha256').update(challenge).digest('hex')

function subjectOf(action: PasskeyAction): string {
  switch (action.kind) {
    case 'payout-decision':
      return `${action.payoutId}@${action.revision}:${action.decision}`
    case 'policy-activation':
      return `policy:${action.version}`
    case 'remove-passkey':
      return action.passkeyId
  }
}

async function issueChallenge(
  db: Queryable,
  input: Readonly<{ purpose: PasskeyChallengePurpose; approverId: string | null; subject: string | null }>,
  relyingParty: RelyingParty,
  now: Date,
): Promise<string> {
  await repo.pruneChallenges(db, now, passkeyLimits.challengePruneBatchMax)
  const open = await repo.countOpenChallenges(
    db,
    input.approverId === null ? { purpose: 'sign-in' } : { approverId: input.approverId },
    now,
  )
  const openMax =
    input.approverId === null
      ? passkeyLimits.signInChallengesOpenMax
      : passkeyLimits.challengesOpenPerPersonMax
  if (open >= openMax) throw errors.passkeyChallengesExhausted()
  const challenge = randomBytes(passkeyLimits.challengeBytes).toString('base64url')
  await repo.insertChallenge(db, {
    challengeHash: hashChallenge(challenge),
    ...input,
    origin: relyingParty.origin,
    rpId: relyingParty.rpId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + passkeyLimits.challengeLifetimeMs),
  })
  return challenge
}

/** What the browser's clientDataJSON says; passkey-invalid when it is not even decodable. */
function readClientData(encoded: string): { type: string; challenge: string; origin: string } {
  try {
    const data = decodeClientDataJSON(encoded)
    if (typeof data.challenge !== 'string' || typeof data.origin !== 'string') throw new Error('fields')
    return data
  } catch {
    throw errors.passkeyInvalid({ path: 'response.clientDataJSON', message: 'not a WebAuthn client data' })
  }
}

type ExpectedChallenge = Readonly<{
  purpose: PasskeyChallengePurpose
  approverId: string | null
  subject: string | null
}>

/**
 * Takes the challenge the response answers out of circulation (committed at once, whatever follows) and
 * checks it was issued for this purpose, person, action and origin, and is still alive.
 */
async function consumeChallenge(
  pool: Pool,
  clientData: { type: string; challenge: string; origin: string },
  expected: ExpectedChallenge,
  context: PasskeyContext,
): Promise<PasskeyChallenge> {
  const challenge = await repo.consumeChallenge(pool, hashChallenge(clientData.challenge), context.now)
  if (challenge === undefined) throw errors.passkeyChallengeUnknown()
  if (challenge.consumedAt !== null) throw errors.passkeyChallengeUsed()
  if (challenge.expiresAt.getTime() <= context.now.getTime()) throw errors.passkeyChallengeExpired()
  if (challenge.purpose !== expected.purpose) throw errors.passkeyChallengeMismatch(challenge.purpose)
  if (challenge.approverId !== expected.approverId) throw errors.passkeyChallengeMismatch('another person')
  if (challenge.subject !== expected.subject) throw errors.passkeyChallengeMismatch('another action')
  const { origin, rpId } = context.relyingParty
  if (challenge.origin !== origin || challenge.rpId !== rpId)
    throw errors.passkeyChallengeMismatch('another origin')
  const ceremony = expected.purpose === 'register' ? 'webauthn.create' : 'webauthn.get'
  if (clientData.type !== ceremony)
    throw errors.passkeyInvalid({ path: 'response.clientDataJSON.type', message: `expected ${ceremony}` })
  if (clientData.origin !== challenge.origin)
    throw errors.passkeyInvalid({
      path: 'response.clientDataJSON.origin',
      message: `signed for ${clientData.origin.slice(0, 200)}, not ${challenge.origin}`,
    })
  return challenge
}

/** The authenticator data must name our relying party (SHA-256 of the rp id). */
function checkRpIdHash(authenticatorData: Uint8Array<ArrayBuffer>, rpId: string): void {
  let rpIdHash: Uint8Array
  try {
    rpIdHash = parseAuthenticatorData(authenticatorData).rpIdHash
  } catch {
    throw errors.passkeyInvalid({ path: 'response.authenticatorData', message: 'not authenticator data' })
  }
  const expected = createHash('sha256').update(rpId).digest()
  if (!expected.equals(Buffer.from(rpIdHash)))
    throw errors.passkeyInvalid({
      path: 'response.authenticatorData.rpIdHash',
      message: `not created for the relying party ${rpId}`,
    })
}

/**
 * The library's refusal as a detail. Its messages can quote client data, so only a fixed text leaves:
 * nothing the browser sent is echoed or logged.
 */
function libraryRefusal(error: unknown): ErrorDetail {
  const message = error instanceof Error ? error.message : ''
  if (/user verification|user not present/i.test(message))
    return { path: 'response.authenticatorData.flags', message: 'user verification is required' }
  return { path: 'response', message: 'the response could not be verified' }
}

/** Options for navigator.credentials.create, for the signed-in person. */
export async function startPasskeyRegistration(
  pool: Pool,
  session: DashboardSession,
  context: Omit<PasskeyContext, 'warn'>,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await repo.selectPasskeysOf(pool, session.approverId, passkeyLimits.passkeysPerPersonMax)
  if (existing.length >= passkeyLimits.passkeysPerPersonMax)
    throw errors.passkeyLimitReached(passkeyLimits.passkeysPerPersonMax)
  const challenge = await issueChallenge(
    pool,
    { purpose: 'register', approverId: session.approverId, subject: null },
    context.relyingParty,
    context.now,
  )
  return await generateRegistrationOptions({
    rpName: context.relyingParty.name,
    rpID: context.relyingParty.rpId,
    // The user handle is the approver id (a ULID, no personal data); it names the person at sign-in.
    userID: new Uint8Array(Buffer.from(session.approverId, 'utf8')),
    userName: session.login,
    userDisplayName: session.name,
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: passkeyLimits.challengeLifetimeMs,
    attestationType: 'none',
    excludeCredentials: existing.map((passkey) => ({
      id: passkey.credentialId,
      transports: [...passkey.transports],
    })),
    // Discoverable, so sign-in needs no login; verified, so one passkey is both factors.
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  })
}

/** Verifies navigator.credentials.create's answer and stores the passkey under `label`. */
export async function finishPasskeyRegistration(
  pool: Pool,
  session: DashboardSession,
  input: Readonly<{ label: string; response: RegistrationResponseJSON }>,
  context: PasskeyContext,
): Promise<PasskeyView> {
  const clientData = readClientData(input.response.response.clientDataJSON)
  const challenge = await consumeChallenge(
    pool,
    clientData,
    { purpose: 'register', approverId: session.approverId, subject: null },
    context,
  )
  try {
    const authData = decodeAttestationObject(
      isoBase64URL.toBuffer(input.response.response.attestationObject),
    ).get('authData')
    checkRpIdHash(authData, challenge.rpId)
  } catch (error) {
    if (isAppError(error)) throw error
    throw errors.passkeyInvalid({ path: 'response.attestationObject', message: 'not an attestation object' })
  }
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>
  try {
    verified = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: clientData.challenge,
      expectedOrigin: challenge.origin,
      expectedRPID: challenge.rpId,
      requireUserVerification: true,
    })
  } catch (error) {
    throw errors.passkeyInvalid(libraryRefusal(error))
  }
  if (!verified.verified)
    throw errors.passkeyInvalid({ path: 'response', message: 'the attestation could not be verified' })
  const { credential } = verified.registrationInfo
  const passkey = {
    id: newId('psk', context.now.getTime()),
    approverId: session.approverId,
    merchantId: session.merchantId,
    credentialId: credential.id,
    publicKey: credential.publicKey,
    signCount: credential.counter,
    transports: input.response.response.transports ?? [],
    rpId: challenge.rpId,
    label: input.label.trim(),
    createdAt: context.now,
  }
  await withTransaction(pool, async (client) => {
    // One registration at a time per person (their credential row), so the count below holds.
    await client.query('select 1 from dashboard_credentials where approver_id = $1 for update', [
      session.approverId,
    ])
    if ((await repo.countPasskeysOf(client, session.approverId)) >= passkeyLimits.passkeysPerPersonMax)
      throw errors.passkeyLimitReached(passkeyLimits.passkeysPerPersonMax)
    if (!(await repo.insertPasskey(client, passkey))) throw errors.passkeyAlreadyRegistered()
  })
  const { publicKey: _publicKey, ...view } = passkey
  return { ...view, lastUsedAt: null, counterRegressedAt: null }
}

/** The person's passkeys, oldest first (without public keys). */
export async function listPasskeys(db: Queryable, approverId: string): Promise<PasskeyView[]> {
  const passkeys = await repo.selectPasskeysOf(db, approverId, passkeyLimits.passkeysPerPersonMax)
  return passkeys.map(({ publicKey: _publicKey, ...view }) => view)
}

export async function countPasskeys(db: Queryable, approverId: string): Promise<number> {
  return await repo.countPasskeysOf(db, approverId)
}

/**
 * Options for navigator.credentials.get. Without a person (sign-in) the browser offers any discoverable
 * passkey of this site; with one, only theirs, and the challenge is bound to `action`.
 */
export async function startPasskeyAssertion(
  pool: Pool,
  input: Readonly<{ purpose: 'sign-in' }> | Readonly<{ person: Person; action: PasskeyAction }>,
  context: Omit<PasskeyContext, 'warn'>,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const passkeys =
    'person' in input
      ? await repo.selectPasskeysOf(pool, input.person.approverId, passkeyLimits.passkeysPerPersonMax)
      : []
  if ('person' in input && passkeys.length === 0) throw errors.passkeyNone()
  const challenge = await issueChallenge(
    pool,
    'person' in input
      ? { purpose: input.action.kind, approverId: input.person.approverId, subject: subjectOf(input.action) }
      : { purpose: 'sign-in', approverId: null, subject: null },
    context.relyingParty,
    context.now,
  )
  return await generateAuthenticationOptions({
    rpID: context.relyingParty.rpId,
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: passkeyLimits.challengeLifetimeMs,
    userVerification: 'required',
    allowCredentials: passkeys
      .filter((passkey) => passkey.rpId === context.relyingParty.rpId)
      .map((passkey) => ({ id: passkey.credentialId, transports: [...passkey.transports] })),
  })
}

/**
 * Verifies an assertion against the challenge it answers (consumed whatever the outcome) and the stored
 * passkey; records the new counter. A counter that does not move forward (unless both are 0, for
 * authenticators that keep none) is refused, marked on the passkey and reported through context.warn.
 */
async function verifyAssertion(
  pool: Pool,
  response: AuthenticationResponseJSON,
  expected: ExpectedChallenge,
  context: PasskeyContext,
): Promise<Passkey> {
  const clientData = readClientData(response.response.clientDataJSON)
  const challenge = await consumeChallenge(pool, clientData, expected, context)
  const passkey = await repo.selectPasskeyByCredentialId(pool, response.id)
  if (passkey === undefined || (expected.approverId !== null && passkey.approverId !== expected.approverId))
    throw errors.passkeyUnknown()
  if (passkey.rpId !== challenge.rpId) throw errors.passkeyUnknown()
  checkRpIdHash(isoBase64URL.toBuffer(response.response.authenticatorData), challenge.rpId)
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: clientData.challenge,
      expectedOrigin: challenge.origin,
      expectedRPID: challenge.rpId,
      // Counter 0 here: the library would compare counters before the signature, and a forged
      // assertion must not raise a clone alarm. The counter is checked below, once the signature holds.
      credential: {
        id: passkey.credentialId,
        publicKey: passkey.publicKey,
        counter: 0,
        transports: [...passkey.transports] as never,
      },
      requireUserVerification: true,
    })
  } catch (error) {
    throw errors.passkeyInvalid(libraryRefusal(error))
  }
  if (!verified.verified)
    throw errors.passkeyInvalid({ path: 'response.signature', message: 'the signature does not verify' })
  const counter = verified.authenticationInfo.newCounter
  const advanced = await withTransaction(pool, async (client) => {
    const current = await repo.selectPasskeyByCredentialId(client, passkey.credentialId, true)
    if (current === undefined) return 'gone' as const
    if ((counter > 0 || current.signCount > 0) && counter <= current.signCount) return 'regressed' as const
    await repo.recordPasskeyUse(client, current.id, counter, context.now)
    return 'ok' as const
  })
  if (advanced === 'gone') throw errors.passkeyUnknown()
  if (advanced === 'regressed') {
    await repo.recordCounterRegression(pool, passkey.id, context.now)
    context.warn(
      { passkey_id: passkey.id, approver_id: passkey.approverId, counter, stored_counter: passkey.signCount },
      'passkey signature counter did not advance: refused (cloned authenticator?)',
    )
    throw errors.passkeyCounterRegressed()
  }
  return passkey
}

/**
 * Signs in with a passkey: user verification (PIN, biometrics) on the person's own device stands for both
 * the password and the TOTP code. The person is the one the passkey was registered to.
 */
export async function signInWithPasskey(
  pool: Pool,
  response: AuthenticationResponseJSON,
  context: PasskeyContext,
): Promise<SignedIn> {
  const passkey = await verifyAssertion(
    pool,
    response,
    { purpose: 'sign-in', approverId: null, subject: null },
    context,
  )
  const approver = await getApprover(pool, passkey.merchantId, passkey.approverId)
  const credential = await sessionRepo.selectCredentialByApprover(pool, passkey.approverId)
  if (approver === undefined || credential === undefined) throw sessionErrors.signInFailed()
  const now = context.now
  const token = randomBytes(sessionLimits.sessionTokenBytes).toString('base64url')
  const session: DashboardSession = {
    id: newId('ses', now.getTime()),
    approverId: approver.id,
    merchantId: approver.merchantId,
    name: approver.name,
    login: credential.login,
    roles: approver.roles,
    createdAt: now,
    expiresAt: new Date(now.getTime() + sessionLimits.sessionLifetimeMs),
  }
  await sessionRepo.insertSession(pool, { ...session, tokenHash: hashSessionToken(token) })
  return { session, token }
}

/**
 * Approves or rejects a payout with a passkey assertion whose challenge named this payout, revision and
 * decision; then the payouts module decides as with a TOTP code (revision, initiator and role rules).
 */
export async function decidePayoutWithPasskey(
  pool: Pool,
  input: Readonly<{
    person: Person
    apiKeyId: string
    payoutId: string
    revision: number
    decision: 'approve' | 'reject'
    reason?: string | undefined
    response: AuthenticationResponseJSON
  }>,
  context: PasskeyContext,
): Promise<Payout> {
  const action: PasskeyAction = {
    kind: 'payout-decision',
    payoutId: input.payoutId,
    revision: input.revision,
    decision: input.decision,
  }
  const passkey = await verifyAssertion(
    pool,
    input.response,
    { purpose: action.kind, approverId: input.person.approverId, subject: subjectOf(action) },
    context,
  )
  return await decidePayoutWithVerifiedFactor(
    pool,
    {
      merchantId: input.person.merchantId,
      id: input.payoutId,
      apiKeyId: input.apiKeyId,
      approverId: input.person.approverId,
      revision: input.revision,
      decision: input.decision,
      reason: input.reason,
    },
    { kind: 'passkey', passkeyId: passkey.id },
    context.now,
  )
}

/** Activates a proposed policy version with a passkey assertion bound to that version. */
export async function activatePolicyWithPasskey(
  pool: Pool,
  input: Readonly<{ person: Person; version: number; response: AuthenticationResponseJSON }>,
  context: PasskeyContext,
): Promise<void> {
  const action: PasskeyAction = { kind: 'policy-activation', version: input.version }
  const passkey = await verifyAssertion(
    pool,
    input.response,
    { purpose: action.kind, approverId: input.person.approverId, subject: subjectOf(action) },
    context,
  )
  await approvePolicyWithVerifiedFactor(
    pool,
    { merchantId: input.person.merchantId, version: input.version, approverId: input.person.approverId },
    { kind: 'passkey', passkeyId: passkey.id },
    context.now,
  )
}

/**
 * Removes one of the person's passkeys after a fresh second factor: a TOTP code (its step is consumed)
 * or an assertion (by any of their passkeys, this one included) bound to removing this passkey.
 */
export async function removePasskey(
  pool: Pool,
  input: Readonly<{
    person: Person
    passkeyId: string
    secondFactor:
      | Readonly<{ kind: 'totp'; code: string }>
      | Readonly<{ kind: 'passkey'; response: AuthenticationResponseJSON }>
  }>,
  context: PasskeyContext,
): Promise<void> {
  const { person, passkeyId, secondFactor } = input
  const owned = await repo.selectPasskeysOf(pool, person.approverId, passkeyLimits.passkeysPerPersonMax)
  if (!owned.some((passkey) => passkey.id === passkeyId)) throw errors.passkeyNotFound()
  if (secondFactor.kind === 'passkey') {
    const action: PasskeyAction = { kind: 'remove-passkey', passkeyId }
    await verifyAssertion(
      pool,
      secondFactor.response,
      { purpose: action.kind, approverId: person.approverId, subject: subjectOf(action) },
      context,
    )
    if (!(await repo.deletePasskey(pool, person.approverId, passkeyId))) throw errors.passkeyNotFound()
    return
  }
  await withTransaction(pool, async (client) => {
    const approver = await consumeApproverTotp(
      client,
      { merchantId: person.merchantId, approverId: person.approverId, totpCode: secondFactor.code },
      context.now,
    )
    if (approver === undefined) throw errors.secondFactorInvalid()
    if (!(await repo.deletePasskey(client, person.approverId, passkeyId))) throw errors.passkeyNotFound()
  })
}
