import { apiScopes } from '@sluice/sdk/api/common'
import { useState } from 'preact/hooks'
import { client, errorCode, useLoad } from './api.ts'
import type { SectionProps } from './app.tsx'
import { DataTable, Id, LoadState, Time } from './parts.tsx'

/** The active payout policy and a form to propose the next version (another approver activates it). */
export function PolicySection({ t, session, revision }: SectionProps) {
  const [policy, reload] = useLoad(async () => await client.getPayoutPolicy(), [revision])
  const [draft, setDraft] = useState<string | undefined>(undefined)
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(undefined)
  const canPropose = session.scopes.includes('payouts:approve')
  const current = policy.kind === 'ok' ? JSON.stringify(policy.data.policy, null, 2) : ''
  const propose = async (event: Event) => {
    event.preventDefault()
    setMessage(undefined)
    let parsed: unknown
    try {
      parsed = JSON.parse(draft ?? current)
    } catch {
      setMessage({ kind: 'error', text: t('policyNotJson') })
      return
    }
    try {
      const proposed = await client.proposePayoutPolicy({ body: { policy: parsed as never } })
      setMessage({ kind: 'ok', text: t('policyProposed', { version: String(proposed.version ?? '') }) })
      reload()
    } catch (error) {
      setMessage({ kind: 'error', text: t('actionFailed', { code: errorCode(error) }) })
    }
  }
  return (
    <section aria-labelledby="policy-heading">
      <h2 id="policy-heading">{t('payoutPolicy')}</h2>
      <LoadState state={policy} t={t} />
      {policy.kind === 'ok' && (
        <>
          <p>
            {policy.data.version === null
              ? t('builtInPolicy')
              : t('policyVersion', { version: String(policy.data.version) })}{' '}
            · {policy.data.status}
          </p>
          <pre class="code" data-testid="active-policy">
            {current}
          </pre>
          {canPropose ? (
            <form onSubmit={propose} class="stack">
              <label>
                {t('proposeChange')}
                <textarea
                  rows={12}
                  spellcheck={false}
                  value={draft ?? current}
                  onInput={(event) => setDraft(event.currentTarget.value)}
                />
              </label>
              <button type="submit" class="button primary">
                {t('propose')}
              </button>
            </form>
          ) : (
            <p class="muted">{t('needsApprover')}</p>
          )}
          {message !== undefined && (
            <p
              class={message.kind === 'ok' ? 'success' : 'error'}
              role={message.kind === 'ok' ? 'status' : 'alert'}
            >
              {message.text}
            </p>
          )}
        </>
      )}
    </section>
  )
}

/** Webhook endpoints, the delivery log, and redelivery of a delivery. */
export function WebhooksSection({ t, session, revision }: SectionProps) {
  const [endpoints] = useLoad(
    async () => (await client.listWebhookEndpoints({ query: { limit: 100 } })).data,
    [revision],
  )
  const [deliveries, reload] = useLoad(
    async () => (await client.listWebhookDeliveries({ query: { limit: 50 } })).data,
    [revision],
  )
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const canWrite = session.scopes.includes('webhooks:write')
  const redeliver = async (id: string) => {
    setProblem(undefined)
    try {
      await client.redeliverWebhookDelivery({ params: { id } })
      reload()
    } catch (error) {
      setProblem(t('actionFailed', { code: errorCode(error) }))
    }
  }
  return (
    <>
      <section aria-labelledby="endpoints-heading">
        <h2 id="endpoints-heading">{t('webhookEndpoints')}</h2>
        <LoadState state={endpoints} t={t} />
        {endpoints.kind === 'ok' && endpoints.data.length === 0 && <p class="note">{t('nothingFound')}</p>}
        {endpoints.kind === 'ok' && endpoints.data.length > 0 && (
          <DataTable headings={[t('url'), t('events'), t('status'), t('failingSince')]}>
            {endpoints.data.map((endpoint) => (
              <tr key={endpoint.id}>
                <td>
                  <code>{endpoint.url}</code>
                </td>
                <td>
                  {Array.isArray(endpoint.event_filter)
                    ? endpoint.event_filter.join(', ')
                    : String(endpoint.event_filter)}
                </td>
                <td>{endpoint.enabled ? t('enabled') : t('disabled')}</td>
                <td>
                  <Time value={endpoint.failing_since} />
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">{t('deliveryLog')}</h2>
        <LoadState state={deliveries} t={t} />
        {problem !== undefined && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        {deliveries.kind === 'ok' && deliveries.data.length === 0 && <p class="note">{t('nothingFound')}</p>}
        {deliveries.kind === 'ok' && deliveries.data.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('event')}</th>
                  <th scope="col">{t('status')}</th>
                  <th scope="col">{t('attempts')}</th>
                  <th scope="col">{t('lastResult')}</th>
                  <th scope="col">{t('created')}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t('actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.data.map((delivery) => (
                  <tr key={delivery.id}>
                    <td>
                      {delivery.event_type} <Id value={delivery.event_id} />
                    </td>
                    <td>{delivery.status}</td>
                    <td class="number">{delivery.attempt_count}</td>
                    <td>{delivery.last_status_code ?? delivery.last_error ?? '—'}</td>
                    <td>
                      <Time value={delivery.created_at} />
                    </td>
                    <td>
                      {canWrite && (
                        <button type="button" class="button small" onClick={() => redeliver(delivery.id)}>
                          {t('redeliver')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  )
}

/** API keys: list, create (the secret is shown once), revoke. Admins only (key management). */
export function ApiKeysSection({ t, session, revision }: SectionProps) {
  const isAdmin = session.roles.includes('admin')
  const [keys, reload] = useLoad(
    async () => (isAdmin ? (await client.listApiKeys({ query: { limit: 100 } })).data : []),
    [revision, isAdmin],
  )
  const [label, setLabel] = useState('')
  const [scopes, setScopes] = useState<string[]>([])
  const [created, setCreated] = useState<string | undefined>(undefined)
  const [problem, setProblem] = useState<string | undefined>(undefined)
  if (!isAdmin)
    return (
      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">{t('apiKeys')}</h2>
        <p class="muted">{t('needsAdmin')}</p>
      </section>
    )
  const create = async (event: Event) => {
    event.preventDefault()
    setProblem(undefined)
    try {
      const key = await client.createApiKey({
        body: { label: label.trim(), scopes: scopes as (typeof apiScopes)[number][] },
      })
      setCreated(key.key ?? undefined)
      setLabel('')
      setScopes([])
      reload()
    } catch (error) {
      setProblem(t('actionFailed', { code: errorCode(error) }))
    }
  }
  const revoke = async (id: string) => {
    setProblem(undefined)
    try {
      await client.revokeApiKey({ params: { id } })
      reload()
    } catch (error) {
      setProblem(t('actionFailed', { code: errorCode(error) }))
    }
  }
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">{t('apiKeys')}</h2>
      <LoadState state={keys} t={t} />
      {keys.kind === 'ok' && (
        <div class="table-wrap">
          <table data-testid="api-keys">
            <thead>
              <tr>
                <th scope="col">{t('label')}</th>
                <th scope="col">{t('keyPrefix')}</th>
                <th scope="col">{t('scopes')}</th>
                <th scope="col">{t('created')}</th>
                <th scope="col">
                  <span class="visually-hidden">{t('actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id} class={key.revoked_at === null ? '' : 'revoked'}>
                  <td>{key.label}</td>
                  <td>
                    <code>{key.key_prefix}</code>
                  </td>
                  <td>{key.scopes.join(', ')}</td>
                  <td>
                    <Time value={key.created_at} />
                  </td>
                  <td>
                    {key.revoked_at === null ? (
                      <button type="button" class="button small danger" onClick={() => revoke(key.id)}>
                        {t('revoke')}
                      </button>
                    ) : (
                      t('revoked')
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="card stack" onSubmit={create}>
        <h3>{t('createKey')}</h3>
        <label>
          {t('label')}
          <input
            value={label}
            required
            maxLength={100}
            onInput={(event) => setLabel(event.currentTarget.value)}
          />
        </label>
        <fieldset>
          <legend>{t('scopes')}</legend>
          {apiScopes.map((scope) => (
            <label key={scope} class="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(event) =>
                  setScopes(
                    event.currentTarget.checked
                      ? [...scopes, scope]
                      : scopes.filter((name) => name !== scope),
                  )
                }
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="button primary">
          {t('create')}
        </button>
      </form>
      {created !== undefined && (
        <div class="card secret" role="status">
          <p>{t('keyShownOnce')}</p>
          <code data-testid="new-key">{created}</code>
          <button type="button" class="button small" onClick={() => setCreated(undefined)}>
            {t('done')}
          </button>
        </div>
      )}
      {problem !== undefined && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  )
}
