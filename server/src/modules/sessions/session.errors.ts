import { AppError } from '../../lib/errors.ts'

/**
 * Sign-in refuses with one code whether the login, the password or the TOTP code was wrong: telling them
 * apart would let a guesser confirm a password without the second factor.
 */
export const signInFailed = () =>
  new AppError('sign-in-failed', 401, 'the login, password or TOTP code is wrong')
export const signInRateLimited = (retryAfterSeconds: number) =>
  new AppError('sign-in-rate-limited', 429, `too many failed sign-ins; retry in ${retryAfterSeconds} s`)
export const sessionRequired = () => new AppError('session-required', 401, 'sign in to the dashboard first')
export const sessionInvalid = () =>
  new AppError('session-invalid', 401, 'the session is unknown, expired or signed out; sign in again')
export const passwordTooShort = (minimum: number) =>
  new AppError('password-too-short', 422, `the password needs at least ${minimum} characters`, {
    details: [{ path: 'password', message: `at least ${minimum} characters` }],
  })
export const passwordTooLong = (maximum: number) =>
  new AppError('password-too-long', 422, `the password has more than ${maximum} characters`, {
    details: [{ path: 'password', message: `at most ${maximum} characters` }],
  })
export const loginInvalid = () =>
  new AppError('login-invalid', 422, 'a login is 1-100 characters of a-z 0-9 . _ @ -', {
    details: [{ path: 'login', message: '1-100 characters of a-z 0-9 . _ @ -' }],
  })
export const loginTaken = () =>
  new AppError('login-taken', 409, 'another dashboard user already has this login', {
    details: [{ path: 'login', message: 'taken' }],
  })
export const roleMissing = (roles: readonly string[]) =>
  new AppError('role-missing', 403, `this action needs one of the roles: ${roles.join(', ')}`)
