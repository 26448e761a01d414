import {
  browserSupportsWebAuthn,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
} from '@simplewebauthn/browser'
import {
  type DashboardSessionWire,
  getDashboardSession,
  listPasskeys,
  type passkeyActionSchema,
  type passkeyAssertionSchema,
  registerPasskey,
  removePasskey,
  signInWithPasskey,
  startPasskeyAssertion,
  startPasskeyRegistration,
  startPasskeySignIn,
} from '@sluice/sdk/api/dashboard'
import { SluiceApiError } from '@sluice/sdk/client'
import { useState } from 'preact/hooks'
import type { z } from 'zod'
import { client, useLoad } from './api.ts'
import type { SectionProps } from './app.tsx'
import type { Translate } from './i18n.ts'
import { LoadState, Time } from './parts.tsx'

/**
 * Passkeys (WebAuthn) in the dashboard: the browser ceremonies run through @simplewebauthn/browser (it
 * converts the gateway's JSON options to the binary form navigator.credentials takes, and back). Every
 * challenge comes from the gateway and is bound there to one purpose and, for approvals, one action.
 */

export const passkeysSupported = (): boolean => browserSupportsWebAuthn()

type Assertion = z.input<typeof passkeyAssertionSchema>
export type PasskeyActionWire = z.input<typeof passkeyActionSchema>

/** A gateway refusal names its code; anything else is the browser's (prompt closed, timed out, none). */
export function passkeyProblem(error: unknown, t: Translate): string {
  if (error instanceof SluiceApiError) return t('passkeyFailed', { code: error.code })
  if (error instanceof TypeError) return t('networkError')
  return t('passkeyCancelled')
}

/** Asks the gateway for a challenge bound to `action`, then the authenticator for an assertion. */
export async function assertFor(action: PasskeyActionWire): Promise<Assertion> {
  const options = await client.send(startPasskeyAssertion, { body: { action } })
  return (await startAuthentication({
    optionsJSON: options.data as unknown as PublicKeyCredentialRequestOptionsJSON,
  })) as Assertion
}

/** Passkey sign-in: the browser offers this site's discoverable passkeys; the answer sets the cookie. */
export async function signInWithAPasskey(): Promise<DashboardSessionWire> {
  const options = await client.send(startPasskeySignIn)
  const assertion = await startAuthentication({
    optionsJSON: options.data as unknown as PublicKeyCredentialRequestOptionsJSON,
  })
  return (await client.send(signInWithPasskey, { body: { assertion: assertion as Assertion } })).data
}

/** The signed-in person's passkeys: add one (named), see when each was used, remove one (second factor). */
export function PasskeysSection({
  t,
  revision,
  onSessionChanged,
}: SectionProps & { onSessionChanged: (session: DashboardSessionWire) => void }) {
  const [list, reload] = useLoad(async () => (await client.send(listPasskeys)).data.data, [revision])
  const [label, setLabel] = useState('')
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const refresh = async () => {
    reload()
    onSessionChanged((await client.send(getDashboardSession)).data)
  }
  const add = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setMessage(undefined)
    try {
      const options = await client.send(startPasskeyRegistration)
      const credential = await startRegistration({
        optionsJSON: options.data as unknown as PublicKeyCredentialCreationOptionsJSON,
      })
      await client.send(registerPasskey, {
        body: { label: label.trim(), credential: credential as never },
      })
      setLabel('')
      setMessage({ kind: 'ok', text: t('passkeyAdded') })
      await refresh()
    } catch (error) {
      setMessage({ kind: 'error', text: passkeyProblem(error, t) })
    } finally {
      setBusy(false)
    }
  }
  const remove = async (id: string, secondFactor: 'totp' | 'passkey', code: string) => {
    setMessage(undefined)
    try {
      const body =
        secondFactor === 'totp'
          ? { totp_code: code.replace(/\s/g, '') }
          : { assertion: await assertFor({ kind: 'remove-passkey', passkey_id: id }) }
      await client.send(removePasskey, { params: { id }, body })
      setMessage({ kind: 'ok', text: t('passkeyRemoved') })
      await refresh()
    } catch (error) {
      setMessage({ kind: 'error', text: passkeyProblem(error, t) })
    }
  }
  return (
    <section aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">{t('passkeys')}</h2>
      <p class="muted">{t('passkeysIntro')}</p>
      <LoadState state={list} t={t} />
      {list.kind === 'ok' && list.data.length === 0 && <p class="note">{t('noPasskeys')}</p>}
      {list.kind === 'ok' && list.data.length > 0 && (
        <div class="table-wrap">
          <table data-testid="passkeys">
            <thead>
              <tr>
                <th scope="col">{t('label')}</th>
                <th scope="col">{t('created')}</th>
                <th scope="col">{t('lastUsed')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((passkey) => (
                <tr key={passkey.id} data-passkey={passkey.id}>
                  <td>
                    {passkey.label}
                    {passkey.counter_regressed_at !== null && (
                      <p class="error">
                        {t('passkeyCloneWarning', {
                          time: new Date(passkey.counter_regressed_at).toLocaleString(),
                        })}
                      </p>
                    )}
                  </td>
                  <td>
                    <Time value={passkey.created_at} />
                  </td>
                  <td>
                    <Time value={passkey.last_used_at} />
                  </td>
                  <td>
                    <RemoveForm id={passkey.id} t={t} onRemove={remove} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {passkeysSupported() ? (
        <form class="card stack" onSubmit={add}>
          <label>
            {t('passkeyLabel')}
            <input
              value={label}
              required
              maxLength={100}
              onInput={(event) => setLabel(event.currentTarget.value)}
            />
          </label>
          <button type="submit" class="button primary" disabled={busy}>
            {t('addPasskey')}
          </button>
        </form>
      ) : (
        <p class="muted">{t('passkeysUnsupported')}</p>
      )}
      {message !== undefined && (
        <p
          class={message.kind === 'ok' ? 'success' : 'error'}
          role={message.kind === 'ok' ? 'status' : 'alert'}
        >
          {message.text}
        </p>
      )}
    </section>
  )
}

function RemoveForm(props: {
  id: string
  t: Translate
  onRemove: (id: string, secondFactor: 'totp' | 'passkey', code: string) => Promise<void>
}) {
  const { t, id } = props
  const [code, setCode] = useState('')
  const codeId = `remove-totp-${id}`
  return (
    <form class="row" onSubmit={(event) => event.preventDefault()}>
      <label for={codeId}>{t('totpCode')}</label>
      <input
        id={codeId}
        inputMode="numeric"
        autocomplete="one-time-code"
        maxLength={7}
        value={code}
        onInput={(event) => setCode(event.currentTarget.value)}
      />
      <button type="button" class="button small danger" onClick={() => props.onRemove(id, 'totp', code)}>
        {t('removePasskey')}
      </button>
      {passkeysSupported() && (
        <button type="button" class="button small" onClick={() => props.onRemove(id, 'passkey', '')}>
          {t('removeWithPasskey')}
        </button>
      )}
    </form>
  )
}
