import { AppError, type ErrorDetail } from '../../lib/errors.ts'

/**
 * Passkey (WebAuthn) refusals. Assertion and challenge problems are 403, not 401: the dashboard reads a
 * 401 as "the session ended". docs/adr/0019-passkeys.md.
 */
export const passkeyChallengeUnknown = () =>
  new AppError(
    'passkey-challenge-unknown',
    403,
    'the gateway issued no such passkey challenge; ask for a new one',
    {
      details: [{ path: 'response.clientDataJSON', message: 'challenge not issued here' }],
    },
  )
export const passkeyChallengeUsed = () =>
  new AppError('passkey-challenge-used', 403, 'this passkey challenge was already used; ask for a new one', {
    details: [{ path: 'response.clientDataJSON', message: 'challenge already used' }],
  })
export const passkeyChallengeExpired = () =>
  new AppError('passkey-challenge-expired', 403, 'the passkey challenge expired; ask for a new one', {
    details: [{ path: 'response.clientDataJSON', message: 'challenge expired' }],
  })
export const passkeyChallengeMismatch = (message: string) =>
  new AppError('passkey-challenge-mismatch', 403, `the passkey challenge was issued for ${message}`, {
    details: [{ path: 'response.clientDataJSON', message: `issued for ${message}` }],
  })
export const passkeyChallengesExhausted = () =>
  new AppError(
    'passkey-challenges-exhausted',
    503,
    'too many passkey challenges are open; retry in a few minutes or sign in with password and TOTP',
  )
export const passkeyInvalid = (detail: ErrorDetail) =>
  new AppError('passkey-invalid', 403, `the passkey response is not valid: ${detail.message}`, {
    details: [detail],
  })
export const passkeyUnknown = () =>
  new AppError('passkey-unknown', 403, 'this passkey is not registered for you here', {
    details: [{ path: 'response.id', message: 'not a registered passkey of this person' }],
  })
export const passkeyCounterRegressed = () =>
  new AppError(
    'passkey-counter-regressed',
    403,
    'the passkey’s signature counter did not move forward: the authenticator may have been cloned',
    { details: [{ path: 'response.authenticatorData', message: 'signature counter did not increase' }] },
  )
export const passkeyNone = () =>
  new AppError('passkey-none', 409, 'you have no passkey registered; add one in the dashboard settings')
export const passkeyLimitReached = (maximum: number) =>
  new AppError('passkey-limit-reached', 409, `a person may register at most ${maximum} passkeys`)
export const passkeyAlreadyRegistered = () =>
  new AppError('passkey-already-registered', 409, 'this passkey is already registered', {
    details: [{ path: 'response.id', message: 'already registered' }],
  })
export const passkeyNotFound = () => new AppError('passkey-not-found', 404, 'you have no such passkey')
export const secondFactorInvalid = () =>
  new AppError('second-factor-invalid', 403, 'the one-time code is wrong, expired or already used', {
    details: [{ path: 'totp_code', message: 'wrong, expired or already used' }],
  })
