import { getDashboardOverview } from '@sluice/sdk/api/dashboard'
import { useState } from 'preact/hooks'
import { client, errorCode, useLoad } from './api.ts'
import type { SectionProps } from './app.tsx'
import { DataTable, LoadState } from './parts.tsx'

/**
 * Balances (the store's ledger; for an operator store beside the hot wallet on chain), each network's
 * health, and the panic switch. The hot wallet holds every store's money and is the operator's treasury,
 * so another store's people see only their ledger (docs/adr/0026-operator-store.md).
 */
export function OverviewSection({ t, session, revision }: SectionProps) {
  const [balances] = useLoad(async () => (await client.listBalances()).data, [revision])
  const [overview, reload] = useLoad(async () => (await client.send(getDashboardOverview)).data, [revision])
  const onChain = overview.kind === 'ok' ? overview.data.on_chain : []
  const showHotWallet = session.operator_store
  return (
    <>
      <section aria-labelledby="balances-heading">
        <h2 id="balances-heading">{t('balances')}</h2>
        <LoadState state={balances} t={t} />
        {balances.kind === 'ok' && (
          <div class="table-wrap">
            <table data-testid="balances">
              <thead>
                <tr>
                  <th scope="col">{t('asset')}</th>
                  <th scope="col">{t('available')}</th>
                  <th scope="col">{t('posted')}</th>
                  <th scope="col">{t('pendingIncoming')}</th>
                  <th scope="col">{t('pendingOutgoing')}</th>
                  {showHotWallet && <th scope="col">{t('hotWalletOnChain')}</th>}
                </tr>
              </thead>
              <tbody>
                {balances.data.map((balance) => {
                  const chain = onChain.find((row) => row.asset === balance.asset)
                  return (
                    <tr key={balance.asset} data-asset={balance.asset}>
                      <th scope="row">{balance.asset}</th>
                      <td class="number" data-testid="available">
                        {balance.available}
                      </td>
                      <td class="number">{balance.posted}</td>
                      <td class="number">{balance.pending_incoming}</td>
                      <td class="number">{balance.pending_outgoing}</td>
                      {showHotWallet && (
                        <td
                          class="number"
                          data-testid="on-chain"
                          title={chain?.address ?? chain?.problem ?? ''}
                        >
                          {chain?.balance ?? '—'}
                        </td>
                      )}
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="networks-heading">
        <h2 id="networks-heading">{t('networks')}</h2>
        <LoadState state={overview} t={t} />
        {overview.kind === 'ok' && (
          <DataTable
            testId="networks"
            headings={[
              t('network'),
              t('health'),
              t('headBlock'),
              t('scannedBlock'),
              t('lagBlocks'),
              t('rpcInUse'),
              t('finality'),
              t('panic'),
            ]}
          >
            {overview.data.networks.map((network) => (
              <tr key={network.name} data-network={network.name}>
                <th scope="row">
                  {network.name} <span class="muted">#{network.chain_id}</span>
                </th>
                <td>
                  <span class={network.healthy ? 'badge ok' : 'badge bad'}>
                    {network.healthy ? t('healthy') : t('unhealthy')}
                  </span>
                  {network.crediting_halted !== null && <span class="muted"> {t('creditingHalted')}</span>}
                </td>
                <td class="number">{network.head_block ?? '—'}</td>
                <td class="number">{network.scanned_block ?? '—'}</td>
                <td class="number">{network.lag_blocks ?? '—'}</td>
                <td>
                  <code>{network.rpc_in_use ?? '—'}</code>
                </td>
                <td>{network.finality}</td>
                <td>{network.panic_engaged ? t('engaged') : t('released')}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
      {overview.kind === 'ok' && (
        <PanicSwitch
          t={t}
          engaged={overview.data.panic_all_networks}
          allowed={session.roles.includes('admin')}
          onChanged={reload}
        />
      )}
    </>
  )
}

function PanicSwitch(props: {
  t: SectionProps['t']
  engaged: boolean
  allowed: boolean
  onChanged: () => void
}) {
  const { t } = props
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const [reason, setReason] = useState('')
  const toggle = async () => {
    setProblem(undefined)
    try {
      const body = reason.trim() === '' ? {} : { reason: reason.trim() }
      if (props.engaged) await client.releasePanic({ body })
      else await client.engagePanic({ body })
      setReason('')
      props.onChanged()
    } catch (error) {
      setProblem(t('actionFailed', { code: errorCode(error) }))
    }
  }
  return (
    <section aria-labelledby="panic-heading" class={props.engaged ? 'panic engaged' : 'panic'}>
      <h2 id="panic-heading">{t('panicSwitch')}</h2>
      <p data-testid="panic-state">{props.engaged ? t('panicEngagedText') : t('panicReleasedText')}</p>
      {props.allowed ? (
        <div class="row">
          <label>
            {t('reason')}
            <input
              value={reason}
              maxLength={1000}
              onInput={(event) => setReason(event.currentTarget.value)}
            />
          </label>
          <button type="button" class={props.engaged ? 'button' : 'button danger'} onClick={toggle}>
            {props.engaged ? t('releasePanic') : t('engagePanic')}
          </button>
        </div>
      ) : (
        <p class="muted">{t('needsAdmin')}</p>
      )}
      {problem !== undefined && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  )
}
