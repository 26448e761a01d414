import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { importTestSanctionsList } from '../../../test/setup/sanctions.ts'
import {
  createSoftwareAuthenticator,
  type SoftwareAuthenticator,
} from '../../../test/setup/software-authenticator.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { isAppError } from '../../lib/errors.ts'
import { createTransfer, getOrCreateAccount, getOrCreateSystemAccount } from '../ledger/ledger.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import {
  createPayout,
  enrolApprover,
  getPayout,
  getPolicyRecord,
  listPayoutAudit,
  proposePolicy,
} from '../payouts/payout.service.ts'
import { totpAt } from '../payouts/payout.totp.ts'
import {
  activatePolicyWithPasskey,
  decidePayoutWithPasskey,
  finishPasskeyRegistration,
  listPasskeys,
  removePasskey,
  signInWithPasskey,
  startPasskeyAssertion,
  startPasskeyRegistration,
} from './passkey.service.ts'
import type { PasskeyAction, RelyingParty } from './passkey.types.ts'
import { passkeyLimits } from './session.limits.ts'
import { authenticateSession, setDashboardCredential, signIn } from './session.service.ts'
import type { DashboardSession } from './session.types.ts'

// Passkeys on a real PostgreSQL, with a software authenticator (ES256 keys from node:crypto) that can
// sign for a wrong origin or relying party, replay, wait out a challenge, or send an old counter.
const relyingParty: RelyingParty = {
  origin: 'https://pay.example.test',
  rpId: 'pay.example.test',
  name: 'Sluice',
}
const password = 'a long dashboard passphrase for tests'
const networkName = 'testnet'
const network: NetworkConfig = {
  name: networkName,
  kind: 'evm',
  chainId: 31_337,
  rpcUrls: ['http://127.0.0.1:9'],
  blockTimeMs: 1000,
  finality: { kind: 'confirmations', confirmations: 2 },
  tokens: [{ symbol: 'USDT', contractAddress: '0x5FbDB2315678afecb367f642d6b3fb4f0F2A5A4B', decimals: 6 }],
}

let database: TestDatabase
let merchantId = ''
let clock = new Date(Date.UTC(2030, 0, 1))
const warnings: string[] = []
const context = () => ({
  relyingParty,
  now: clock,
  warn: (_fields: object, message: string) => {
    warnings.push(message)
  },
})
const tick = (ms = 1000) => {
  clock = new Date(clock.getTime() + ms)
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isAppError(error)) return `${error.httpStatus} ${error.code} ${error.details[0]?.path ?? ''}`.trim()
    throw error
  }
  return 'ok'
}

type User = { session: DashboardSession; authenticator: SoftwareAuthenticator; secret: string }

/** A signed-in approver (password + TOTP) with one registered passkey. */
async function newUser(login: string, roles: ('approver' | 'admin')[] = ['approver']): Promise<User> {
  const enrolled = await enrolApprover(database.pool, { merchantId, name: login, roles })
  await setDashboardCredential(database.pool, {
    merchantId,
    approverId: enrolled.approver.id,
    login,
    password,
  })
  tick(30_000)
  const { session } = await signIn(
    database.pool,
    { login, password, totpCode: totpAt(enrolled.totpSecret, BigInt(clock.getTime()) / 1000n) },
    clock,
  )
  const authenticator = createSoftwareAuthenticator(relyingParty)
  const options = await startPasskeyRegistration(database.pool, session, context())
  await finishPasskeyRegistration(
    database.pool,
    session,
    { label: `${login} laptop`, response: authenticator.register(options) },
    context(),
  )
  return { session, authenticator, secret: enrolled.totpSecret }
}

const personOf = (user: User) => ({ approverId: user.session.approverId, merchantId })

async function assertionFor(user: User, action: PasskeyAction) {
  return await startPasskeyAssertion(database.pool, { person: personOf(user), action }, context())
}

async function heldPayout(amount = '5') {
  return await withTransaction(database.pool, (client) =>
    createPayout(
      client,
      {
        merchantId,
        apiKeyId: 'key_initiator',
        network: networkName,
        asset: 'USDT',
        destination: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        amount,
      },
      { networks: [network], now: () => clock },
    ),
  )
}

beforeAll(async () => {
  database = await createTestDatabase()
  merchantId = (await createMerchant(database.pool, { name: 'Passkeys Store' })).merchant.id
  await importTestSanctionsList(database.pool)
  const assetId = `USDT@${networkName}`
  const available = await getOrCreateAccount(database.pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  const hot = await getOrCreateSystemAccount(database.pool, 'hot-wallet', assetId)
  await createTransfer(database.pool, {
    kind: 'single',
    id: 'fund:passkeys',
    debitAccountId: hot.id,
    creditAccountId: available.id,
    assetId,
    amount: 1_000_000_000n,
    code: 'test-funding',
  })
})

afterAll(async () => {
  await database?.drop()
})

describe('passkey registration', () => {
  it('registers a passkey (attestation none) and lists it without its public key', async () => {
    const user = await newUser('reg-ok')
    const listed = await listPasskeys(database.pool, user.session.approverId)
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({
      credentialId: user.authenticator.credentialId,
      label: 'reg-ok laptop',
      rpId: relyingParty.rpId,
      signCount: 0,
      transports: ['internal'],
    })
    expect(listed[0]).not.toHaveProperty('publicKey')
  })

  it('refuses a wrong origin, a wrong relying party, a replay and a registration without verification', async () => {
    const user = await newUser('reg-bad')
    const other = createSoftwareAuthenticator(relyingParty)
    const register = async (overrides: Parameters<SoftwareAuthenticator['register']>[1]) => {
      const options = await startPasskeyRegistration(database.pool, user.session, context())
      const response = other.register(options, overrides)
      return [
        await codeOf(
          finishPasskeyRegistration(database.pool, user.session, { label: 'x', response }, context()),
        ),
        response,
      ] as const
    }
    expect((await register({ origin: 'https://evil.example' }))[0]).toBe(
      '403 passkey-invalid response.clientDataJSON.origin',
    )
    expect((await register({ rpId: 'evil.example' }))[0]).toBe(
      '403 passkey-invalid response.authenticatorData.rpIdHash',
    )
    expect((await register({ userVerified: false }))[0]).toBe(
      '403 passkey-invalid response.authenticatorData.flags',
    )
    // A registration answered for someone else's challenge: the challenge names its person.
    const stranger = await newUser('reg-stranger')
    const foreign = await startPasskeyRegistration(database.pool, stranger.session, context())
    expect(
      await codeOf(
        finishPasskeyRegistration(
          database.pool,
          user.session,
          { label: 'x', response: other.register(foreign) },
          context(),
        ),
      ),
    ).toBe('403 passkey-challenge-mismatch response.clientDataJSON')
    const [accepted, response] = await register({})
    expect(accepted).toBe('ok')
    expect(
      await codeOf(
        finishPasskeyRegistration(database.pool, user.session, { label: 'x', response }, context()),
      ),
    ).toBe('403 passkey-challenge-used response.clientDataJSON')
  })

  it(`registers ${passkeyLimits.passkeysPerPersonMax} passkeys per person, not one more`, async () => {
    const user = await newUser('reg-many')
    for (let count = 1; count < passkeyLimits.passkeysPerPersonMax; count += 1) {
      const options = await startPasskeyRegistration(database.pool, user.session, context())
      const response = createSoftwareAuthenticator(relyingParty).register(options)
      await finishPasskeyRegistration(
        database.pool,
        user.session,
        { label: `key ${count}`, response },
        context(),
      )
    }
    expect(await listPasskeys(database.pool, user.session.approverId)).toHaveLength(
      passkeyLimits.passkeysPerPersonMax,
    )
    expect(await codeOf(startPasskeyRegistration(database.pool, user.session, context()))).toBe(
      '409 passkey-limit-reached',
    )
  })
})

describe('sign-in with a passkey', () => {
  it('signs in as the passkey’s person, and refuses wrong origin, wrong rp id, replay and expiry', async () => {
    const user = await newUser('signin')
    const start = () => startPasskeyAssertion(database.pool, { purpose: 'sign-in' }, context())
    const options = await start()
    expect(options.allowCredentials ?? []).toEqual([])
    expect(options.userVerification).toBe('required')
    const response = user.authenticator.assert(options)
    const signed = await signInWithPasskey(database.pool, response, context())
    expect(signed.session.approverId).toBe(user.session.approverId)
    expect((await authenticateSession(database.pool, signed.token, clock)).login).toBe('signin')

    expect(await codeOf(signInWithPasskey(database.pool, response, context()))).toBe(
      '403 passkey-challenge-used response.clientDataJSON',
    )
    const wrongOrigin = user.authenticator.assert(await start(), { origin: 'https://evil.example' })
    expect(await codeOf(signInWithPasskey(database.pool, wrongOrigin, context()))).toBe(
      '403 passkey-invalid response.clientDataJSON.origin',
    )
    const wrongRp = user.authenticator.assert(await start(), { rpId: 'evil.example' })
    expect(await codeOf(signInWithPasskey(database.pool, wrongRp, context()))).toBe(
      '403 passkey-invalid response.authenticatorData.rpIdHash',
    )
    const unverified = user.authenticator.assert(await start(), { userVerified: false })
    expect(await codeOf(signInWithPasskey(database.pool, unverified, context()))).toBe(
      '403 passkey-invalid response.authenticatorData.flags',
    )
    // Another key's signature over the same data, presented under this passkey's credential id.
    const forger = createSoftwareAuthenticator(relyingParty)
    const forged = forger.assert(await start())
    const stolenId = {
      ...forged,
      id: user.authenticator.credentialId,
      rawId: user.authenticator.credentialId,
    }
    expect(await codeOf(signInWithPasskey(database.pool, stolenId, context()))).toBe(
      '403 passkey-invalid response.signature',
    )
    expect(await codeOf(signInWithPasskey(database.pool, forger.assert(await start()), context()))).toBe(
      '403 passkey-unknown response.id',
    )
    const never = user.authenticator.assert(await start(), { challenge: 'bm90LWlzc3VlZC1oZXJl' })
    expect(await codeOf(signInWithPasskey(database.pool, never, context()))).toBe(
      '403 passkey-challenge-unknown response.clientDataJSON',
    )
    // Accepted on the last millisecond of the challenge's lifetime, refused at the lifetime.
    const lastMoment = user.authenticator.assert(await start())
    tick(passkeyLimits.challengeLifetimeMs - 1)
    expect(await codeOf(signInWithPasskey(database.pool, lastMoment, context()))).toBe('ok')
    const late = user.authenticator.assert(await start())
    tick(passkeyLimits.challengeLifetimeMs)
    expect(await codeOf(signInWithPasskey(database.pool, late, context()))).toBe(
      '403 passkey-challenge-expired response.clientDataJSON',
    )
  })

  it('refuses a counter that goes backwards, marks the passkey and warns; zero counters pass', async () => {
    const user = await newUser('counter')
    const start = () => startPasskeyAssertion(database.pool, { purpose: 'sign-in' }, context())
    // An authenticator without a counter (always 0) signs in every time.
    for (let attempt = 0; attempt < 2; attempt += 1)
      expect(
        await codeOf(
          signInWithPasskey(
            database.pool,
            user.authenticator.assert(await start(), { counter: 0 }),
            context(),
          ),
        ),
      ).toBe('ok')
    const first = user.authenticator.assert(await start(), { counter: 7 })
    expect(await codeOf(signInWithPasskey(database.pool, first, context()))).toBe('ok')
    for (const counter of [7, 3, 0]) {
      const stale = user.authenticator.assert(await start(), { counter })
      expect(await codeOf(signInWithPasskey(database.pool, stale, context()))).toBe(
        '403 passkey-counter-regressed response.authenticatorData',
      )
    }
    expect(warnings.filter((warning) => warning.includes('counter'))).toHaveLength(3)
    const [passkey] = await listPasskeys(database.pool, user.session.approverId)
    expect(passkey?.signCount).toBe(7)
    expect(passkey?.counterRegressedAt).not.toBeNull()
    const next = user.authenticator.assert(await start(), { counter: 8 })
    expect(await codeOf(signInWithPasskey(database.pool, next, context()))).toBe('ok')
  })
})

describe('approvals with a passkey', () => {
  it('approves with an assertion bound to the payout, revision and decision — not another', async () => {
    const user = await newUser('approver-a')
    const payout = await heldPayout()
    const other = await heldPayout()
    expect(payout.status).toBe('pending_approval')
    const decide = async (
      action: Extract<PasskeyAction, { kind: 'payout-decision' }>,
      target: { payoutId: string; revision: number; decision: 'approve' | 'reject' },
      overrides: Parameters<SoftwareAuthenticator['assert']>[1] = {},
    ) =>
      await codeOf(
        decidePayoutWithPasskey(
          database.pool,
          {
            person: personOf(user),
            apiKeyId: user.session.approverId,
            ...target,
            response: user.authenticator.assert(await assertionFor(user, action), overrides),
          },
          context(),
        ),
      )
    const approveIt = {
      kind: 'payout-decision',
      payoutId: payout.id,
      revision: payout.revision,
      decision: 'approve',
    } as const
    const target = { payoutId: payout.id, revision: payout.revision, decision: 'approve' } as const
    // An assertion for one payout cannot approve another, nor another revision, nor reject.
    expect(await decide(approveIt, { ...target, payoutId: other.id })).toBe(
      '403 passkey-challenge-mismatch response.clientDataJSON',
    )
    expect(await decide(approveIt, { ...target, revision: payout.revision + 1 })).toBe(
      '403 passkey-challenge-mismatch response.clientDataJSON',
    )
    expect(await decide(approveIt, { ...target, decision: 'reject' })).toBe(
      '403 passkey-challenge-mismatch response.clientDataJSON',
    )
    expect(await decide(approveIt, target, { origin: 'https://evil.example' })).toBe(
      '403 passkey-invalid response.clientDataJSON.origin',
    )
    expect(await decide(approveIt, target, { rpId: 'evil.example' })).toBe(
      '403 passkey-invalid response.authenticatorData.rpIdHash',
    )
    // A sign-in challenge is not an approval challenge.
    const signInOptions = await startPasskeyAssertion(database.pool, { purpose: 'sign-in' }, context())
    expect(
      await codeOf(
        decidePayoutWithPasskey(
          database.pool,
          {
            person: personOf(user),
            apiKeyId: user.session.approverId,
            ...target,
            response: user.authenticator.assert(signInOptions),
          },
          context(),
        ),
      ),
    ).toBe('403 passkey-challenge-mismatch response.clientDataJSON')
    expect(await decide(approveIt, target)).toBe('ok')
    const approved = await getPayout(database.pool, merchantId, payout.id)
    expect(approved.status).toBe('queued')
    const audit = await listPayoutAudit(database.pool, payout.id)
    expect(audit.find((entry) => entry.action === 'payout.approve')?.detail).toMatchObject({
      second_factor: 'passkey',
    })
    // Still pending and untouched: the refused assertions above changed nothing.
    expect((await getPayout(database.pool, merchantId, other.id)).status).toBe('pending_approval')
  })

  it('keeps the revision and initiator rules: a stale revision and the initiator are refused', async () => {
    const user = await newUser('approver-b')
    const payout = await heldPayout()
    const stale = { kind: 'payout-decision', payoutId: payout.id, revision: 0, decision: 'reject' } as const
    expect(
      await codeOf(
        decidePayoutWithPasskey(
          database.pool,
          {
            person: personOf(user),
            apiKeyId: user.session.approverId,
            payoutId: payout.id,
            revision: 0,
            decision: 'reject',
            response: user.authenticator.assert(await assertionFor(user, stale)),
          },
          context(),
        ),
      ),
    ).toBe('409 payout-old-revision')
    const action = {
      kind: 'payout-decision',
      payoutId: payout.id,
      revision: payout.revision,
      decision: 'approve',
    } as const
    expect(
      await codeOf(
        decidePayoutWithPasskey(
          database.pool,
          {
            person: personOf(user),
            apiKeyId: 'key_initiator',
            payoutId: payout.id,
            revision: payout.revision,
            decision: 'approve',
            response: user.authenticator.assert(await assertionFor(user, action)),
          },
          context(),
        ),
      ),
    ).toBe('403 approver-not-eligible')
  })

  it('activates a policy version with a passkey bound to that version', async () => {
    const user = await newUser('policy-admin', ['admin'])
    const proposed = await proposePolicy(database.pool, {
      merchantId,
      proposedBy: 'key_proposer',
      policy: { rules: [], default_action: { kind: 'allow' } },
    })
    const wrong = { kind: 'policy-activation', version: proposed + 1 } as const
    const response = user.authenticator.assert(await assertionFor(user, wrong))
    expect(
      await codeOf(
        activatePolicyWithPasskey(
          database.pool,
          { person: personOf(user), version: proposed, response },
          context(),
        ),
      ),
    ).toBe('403 passkey-challenge-mismatch response.clientDataJSON')
    const right = user.authenticator.assert(
      await assertionFor(user, { kind: 'policy-activation', version: proposed }),
    )
    await activatePolicyWithPasskey(
      database.pool,
      { person: personOf(user), version: proposed, response: right },
      context(),
    )
    expect((await getPolicyRecord(database.pool, merchantId, { active: true }))?.version).toBe(proposed)
  })
})

describe('removing a passkey', () => {
  it('needs a fresh second factor: a TOTP code not used before, or a passkey bound to the removal', async () => {
    const user = await newUser('remover')
    const options = await startPasskeyRegistration(database.pool, user.session, context())
    const second = createSoftwareAuthenticator(relyingParty)
    await finishPasskeyRegistration(
      database.pool,
      user.session,
      { label: 'second', response: second.register(options) },
      context(),
    )
    const [first, spare] = await listPasskeys(database.pool, user.session.approverId)
    if (first === undefined || spare === undefined) throw new Error('two passkeys expected')
    // The sign-in code's step is used already.
    const usedCode = totpAt(user.secret, BigInt(clock.getTime()) / 1000n)
    const remove = (passkeyId: string, secondFactor: Parameters<typeof removePasskey>[1]['secondFactor']) =>
      codeOf(removePasskey(database.pool, { person: personOf(user), passkeyId, secondFactor }, context()))
    expect(await remove(spare.id, { kind: 'totp', code: usedCode })).toBe(
      '403 second-factor-invalid totp_code',
    )
    const boundToFirst = user.authenticator.assert(
      await assertionFor(user, { kind: 'remove-passkey', passkeyId: first.id }),
    )
    expect(await remove(spare.id, { kind: 'passkey', response: boundToFirst })).toBe(
      '403 passkey-challenge-mismatch response.clientDataJSON',
    )
    const boundToSpare = user.authenticator.assert(
      await assertionFor(user, { kind: 'remove-passkey', passkeyId: spare.id }),
    )
    expect(await remove(spare.id, { kind: 'passkey', response: boundToSpare })).toBe('ok')
    tick(30_000)
    const fresh = totpAt(user.secret, BigInt(clock.getTime()) / 1000n)
    expect(await remove('psk_nobody', { kind: 'totp', code: fresh })).toBe('404 passkey-not-found')
    expect(await remove(first.id, { kind: 'totp', code: fresh })).toBe('ok')
    expect(await listPasskeys(database.pool, user.session.approverId)).toEqual([])
  })
})
