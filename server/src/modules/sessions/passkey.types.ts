/** A registered passkey; the public key stays in the repo and service (nothing shows it). */
export type Passkey = Readonly<{
  id: string
  approverId: string
  merchantId: string
  credentialId: string
  publicKey: Uint8Array<ArrayBuffer>
  signCount: number
  transports: readonly string[]
  rpId: string
  label: string
  createdAt: Date
  lastUsedAt: Date | null
  counterRegressedAt: Date | null
}>

export type PasskeyChallengePurpose =
  | 'register'
  | 'sign-in'
  | 'payout-decision'
  | 'policy-activation'
  | 'remove-passkey'

/** A challenge as stored (by hash): who it was issued to, for what, and on which origin. */
export type PasskeyChallenge = Readonly<{
  purpose: PasskeyChallengePurpose
  approverId: string | null
  subject: string | null
  origin: string
  rpId: string
  createdAt: Date
  expiresAt: Date
  consumedAt: Date | null
}>

/**
 * The gateway as a WebAuthn relying party, as the browser saw it: the page's origin and its host.
 * Taken from the request that asks for a challenge and stored with it (docs/adr/0019-passkeys.md).
 */
export type RelyingParty = Readonly<{ origin: string; rpId: string; name: string }>

/** What an assertion must authorise, beside the person: bound into its challenge. */
export type PasskeyAction =
  | Readonly<{ kind: 'payout-decision'; payoutId: string; revision: number; decision: 'approve' | 'reject' }>
  | Readonly<{ kind: 'policy-activation'; version: number }>
  | Readonly<{ kind: 'remove-passkey'; passkeyId: string }>
