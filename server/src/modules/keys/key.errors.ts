import { AppError, type ErrorDetail } from '../../lib/errors.ts'

/**
 * Codes of the keys module. No factory here takes secret material as an argument: messages and details
 * carry identifiers (secret id, master key id, merchant id) and reasons only, so an error can be logged,
 * shown or sent anywhere.
 */
export type KeyErrorCode =
  | 'secret-decryption-failed'
  | 'keys-already-initialised'
  | 'keys-not-initialised'
  | 'mnemonic-invalid'
  | 'mnemonic-already-revealed'
  | 'master-key-invalid'
  | 'master-key-unchanged'
  | 'hd-account-not-found'
  | 'merchant-not-found'
  | 'xpub-invalid'
  | 'hd-index-invalid'
  | 'key-path-invalid'

/**
 * Every way a secret fails to open (wrong master key, tampered field, malformed envelope, KMS refusal)
 * is this one code: callers cannot act differently on them, and telling an attacker which field broke
 * helps only the attacker. `reason` is a fixed word for operators, never data from the envelope.
 */
export const secretDecryptionFailed = (
  reason: string,
  options: { secretId?: string; note?: string; cause?: unknown } = {},
) => {
  const details: ErrorDetail[] = [{ path: 'reason', message: reason }]
  if (options.secretId !== undefined) details.push({ path: 'secretId', message: options.secretId })
  const note = options.note === undefined ? '' : `: ${options.note}`
  return new AppError('secret-decryption-failed', 500, `a secret could not be decrypted (${reason})${note}`, {
    details,
    cause: options.cause,
  })
}

export const keysAlreadyInitialised = (secretId: string) =>
  new AppError(
    'keys-already-initialised',
    409,
    `the HD seed already exists (secret ${secretId}); it is never overwritten`,
    {
      details: [{ path: 'secretId', message: secretId }],
    },
  )

export const keysNotInitialised = () =>
  new AppError('keys-not-initialised', 409, 'no HD seed exists yet: run `sluice keys init` first')

// Deliberately without `cause`: BIP39 word-list errors quote the offending word.
export const mnemonicInvalid = () =>
  new AppError(
    'mnemonic-invalid',
    422,
    'the mnemonic is not a valid English BIP39 phrase of 12, 15, 18, 21 or 24 words',
  )

export const mnemonicAlreadyRevealed = () =>
  new AppError(
    'mnemonic-already-revealed',
    409,
    'the backup phrase was already shown once (or was imported by the operator); it is not shown again',
  )

// `problem` is written by us (lengths, paths, modes), never the key text.
export const masterKeyInvalid = (origin: string, problem: string, cause?: unknown) =>
  new AppError('master-key-invalid', 500, `master key from ${origin}: ${problem}`, {
    details: [{ path: origin, message: problem }],
    cause,
  })

export const masterKeyUnchanged = (masterKeyId: string) =>
  new AppError(
    'master-key-unchanged',
    422,
    `the new master key is the current one (${masterKeyId}); nothing to rotate`,
  )

export const hdAccountNotFound = (merchantId: string) =>
  new AppError(
    'hd-account-not-found',
    404,
    `merchant ${merchantId} has no HD account yet: run \`sluice keys export-xpub ${merchantId}\``,
  )

export const merchantNotFound = (merchantId: string, cause?: unknown) =>
  new AppError('merchant-not-found', 404, `merchant ${merchantId} does not exist`, { cause })

export const xpubInvalid = (problem: string) =>
  new AppError('xpub-invalid', 422, `not an account-level extended public key: ${problem}`)

export const hdIndexInvalid = (name: string, value: number) =>
  new AppError('hd-index-invalid', 422, `${name} must be an integer from 0 to 2147483647, got ${value}`)

// The path is echoed only when it is made of path characters, so a secret pasted by mistake is not.
export const keyPathInvalid = (path: string) =>
  new AppError(
    'key-path-invalid',
    422,
    `key path must look like m/44'/60'/<account>'/0/<index>${/^[mM0-9'/hH]{1,64}$/.test(path) ? `, got "${path}"` : ''}`,
  )
