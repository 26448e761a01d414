import type { TreasuryBalanceWire, TreasuryProposalWire } from '@sluice/sdk/api/treasury'
import { formatUnits, parseMinorUnits } from '@sluice/sdk/money'
import { useEffect, useState } from 'preact/hooks'
import { client, errorCode, type Loaded, useLoad } from './api.ts'
import type { SectionProps } from './app.tsx'
import type { MessageKey, Translate } from './i18n.ts'
import { DataTable, Id, LoadState, Time } from './parts.tsx'

/**
 * The operator's treasury (docs/adr/0016 decision 6, docs/adr/0026): the hot and the watch-only cold
 * wallet per network and asset against the hot wallet's floor and ceiling, and the proposals the periodic
 * check makes. A treasurer approves or rejects a sweep to cold with a TOTP code, quoting the revision they
 * saw; a top-up from cold is carried out offline with the cold key, so here it can only be rejected.
 * Shown to operator stores' people only; the server answers anyone else 403 treasury-operator-only.
 */

/** Token decimals by asset id ("USDT@ethereum"), from the ledger's list of configured assets. */
type DecimalsByAsset = ReadonlyMap<string, number>

/** Proposals the send job is still working on (every 10 s): no outbox event reports their progress. */
const inFlightStatuses: readonly TreasuryProposalWire['status'][] = ['approved', 'sent']
const inFlightPollMs = 10_000
const proposalsShownMax = 50

/** "1250.5 USDT" from minor units; the raw minor units, marked so, if the asset's decimals are unknown. */
export function formatTreasuryAmount(
  minor: string,
  asset: string,
  decimals: DecimalsByAsset,
  t: Translate,
): string {
  const symbol = asset.split('@')[0] ?? asset
  const places = decimals.get(asset)
  if (places === undefined) return t('minorUnits', { amount: minor, symbol })
  return `${formatUnits(parseMinorUnits(minor), places)} ${symbol}`
}

type BandPosition = 'belowFloor' | 'aboveCeiling' | 'withinBand'

function bandOf(balance: TreasuryBalanceWire): BandPosition | undefined {
  if (balance.floor_minor === null || balance.ceiling_minor === null) return undefined
  const minor = parseMinorUnits(balance.balance_minor)
  if (minor < parseMinorUnits(balance.floor_minor)) return 'belowFloor'
  if (minor > parseMinorUnits(balance.ceiling_minor)) return 'aboveCeiling'
  return 'withinBand'
}

type WalletPair = { network: string; asset: string; hot?: TreasuryBalanceWire; cold?: TreasuryBalanceWire }

/** One row per network and asset: the hot wallet beside the cold one. */
function pairWallets(balances: readonly TreasuryBalanceWire[]): WalletPair[] {
  const pairs = new Map<string, WalletPair>()
  for (const balance of balances) {
    const key = `${balance.network}|${balance.asset}`
    const pair = pairs.get(key) ?? { network: balance.network, asset: balance.asset }
    pair[balance.wallet] = balance
    pairs.set(key, pair)
  }
  return [...pairs.values()].sort((a, b) =>
    a.network === b.network ? a.asset.localeCompare(b.asset) : a.network.localeCompare(b.network),
  )
}

export function TreasurySection({ t, session, revision }: SectionProps) {
  const [decimals] = useLoad(
    async () =>
      new Map((await client.listBalances()).data.map((balance) => [balance.asset, balance.decimals])),
    [],
  )
  const [tick, setTick] = useState(0)
  const [balances] = useLoad(async () => (await client.listTreasuryBalances()).data, [revision, tick])
  const [open, reloadOpen] = useLoad(
    async () =>
      (await client.listTreasuryProposals({ query: { status: 'open', limit: proposalsShownMax } })).data,
    [revision, tick],
  )
  const [recent, reloadRecent] = useLoad(
    async () => (await client.listTreasuryProposals({ query: { limit: proposalsShownMax } })).data,
    [revision, tick],
  )
  const inFlight =
    recent.kind === 'ok' && recent.data.some((proposal) => inFlightStatuses.includes(proposal.status))
  useEffect(() => {
    if (!inFlight) return
    const timer = setInterval(() => setTick((value) => value + 1), inFlightPollMs)
    return () => clearInterval(timer)
  }, [inFlight])
  const known: DecimalsByAsset = decimals.kind === 'ok' ? decimals.data : new Map()
  const decided = () => {
    reloadOpen()
    reloadRecent()
  }
  return (
    <>
      <WalletsTable t={t} balances={balances} decimals={known} />
      <section aria-labelledby="treasury-open-heading">
        <h2 id="treasury-open-heading">{t('treasuryOpenProposals')}</h2>
        <LoadState state={open} t={t} />
        {open.kind === 'ok' && open.data.length === 0 && <p class="note">{t('treasuryNoOpenProposals')}</p>}
        {open.kind === 'ok' && (
          <ul class="cards" data-testid="treasury-open">
            {open.data.map((proposal) => (
              <ProposalCard
                key={`${proposal.id}-${proposal.revision}`}
                proposal={proposal}
                t={t}
                decimals={known}
                approverId={session.approver_id}
                canDecide={
                  session.scopes.includes('payouts:approve') &&
                  (session.roles.includes('treasurer') || session.roles.includes('admin'))
                }
                onDecided={decided}
              />
            ))}
          </ul>
        )}
      </section>
      <ProposalsTable t={t} proposals={recent} decimals={known} approverId={session.approver_id} />
    </>
  )
}

function WalletsTable(props: {
  t: Translate
  balances: Loaded<TreasuryBalanceWire[]>
  decimals: DecimalsByAsset
}) {
  const { t, balances, decimals } = props
  const amount = (balance: TreasuryBalanceWire | undefined, minor: string | null | undefined) =>
    balance === undefined || minor === null || minor === undefined
      ? '—'
      : formatTreasuryAmount(minor, balance.asset, decimals, t)
  return (
    <section aria-labelledby="treasury-wallets-heading">
      <h2 id="treasury-wallets-heading">{t('treasuryWallets')}</h2>
      <LoadState state={balances} t={t} />
      {balances.kind === 'ok' && balances.data.length === 0 && <p class="note">{t('treasuryNoBalances')}</p>}
      {balances.kind === 'ok' && balances.data.length > 0 && (
        <DataTable
          testId="treasury-balances"
          headings={[
            t('asset'),
            t('hotWallet'),
            t('floor'),
            t('ceiling'),
            t('band'),
            t('coldWallet'),
            t('readAt'),
          ]}
        >
          {pairWallets(balances.data).map(({ network, asset, hot, cold }) => {
            const band = hot === undefined ? undefined : bandOf(hot)
            return (
              <tr key={`${network}|${asset}`} data-asset={asset}>
                <th scope="row">{asset}</th>
                <td class="number" data-testid="hot" title={hot?.address ?? ''}>
                  {amount(hot, hot?.balance_minor)}
                </td>
                <td class="number">{amount(hot, hot?.floor_minor)}</td>
                <td class="number">{amount(hot, hot?.ceiling_minor)}</td>
                <td data-testid="band">
                  {band === undefined ? (
                    '—'
                  ) : (
                    <span class={band === 'withinBand' ? 'badge ok' : 'badge bad'}>{t(band)}</span>
                  )}
                </td>
                <td class="number" data-testid="cold" title={cold?.address ?? ''}>
                  {amount(cold, cold?.balance_minor)}
                </td>
                <td>
                  <Time value={hot?.observed_at ?? cold?.observed_at ?? null} />
                </td>
              </tr>
            )
          })}
        </DataTable>
      )}
    </section>
  )
}

/** Who decided: "you" for the reader, else the person's id. */
function DecidedBy({ value, approverId, t }: { value: string | null; approverId: string; t: Translate }) {
  if (value === null) return <span>—</span>
  if (value === approverId) return <span title={value}>{t('decidedByYou')}</span>
  return <Id value={value} />
}

function ProposalsTable(props: {
  t: Translate
  proposals: Loaded<TreasuryProposalWire[]>
  decimals: DecimalsByAsset
  approverId: string
}) {
  const { t, proposals, decimals } = props
  return (
    <section aria-labelledby="treasury-recent-heading">
      <h2 id="treasury-recent-heading">{t('treasuryRecentProposals')}</h2>
      <LoadState state={proposals} t={t} />
      {proposals.kind === 'ok' && proposals.data.length === 0 && <p class="note">{t('nothingFound')}</p>}
      {proposals.kind === 'ok' && proposals.data.length > 0 && (
        <DataTable
          testId="treasury-proposals"
          headings={[
            t('treasuryKind'),
            t('network'),
            t('amount'),
            t('status'),
            t('revisionColumn'),
            t('decidedBy'),
            t('decidedAt'),
            t('transaction'),
            t('treasuryError'),
            t('created'),
          ]}
        >
          {proposals.data.map((proposal) => (
            <tr key={proposal.id} data-proposal={proposal.id} data-status={proposal.status}>
              <th scope="row">{t(`kind_${proposal.kind}`)}</th>
              <td>{proposal.network}</td>
              <td class="number">
                {formatTreasuryAmount(proposal.amount_minor, proposal.asset, decimals, t)}
              </td>
              <td data-testid="status">{t(`treasury_${proposal.status}`)}</td>
              <td class="number">{proposal.revision}</td>
              <td>
                <DecidedBy value={proposal.decided_by} approverId={props.approverId} t={t} />
              </td>
              <td>
                <Time value={proposal.decided_at} />
              </td>
              <td>{proposal.tx_hash === null ? '—' : <Id value={proposal.tx_hash} />}</td>
              <td class="wrap">{proposal.error ?? '—'}</td>
              <td>
                <Time value={proposal.created_at} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  )
}

/** What a refused decision means for the treasurer. */
const decisionMessages: Readonly<Record<string, MessageKey>> = {
  'approval-totp-invalid': 'decisionTotpInvalid',
  'approval-totp-rate-limited': 'decisionTotpRateLimited',
  'treasury-proposal-old-revision': 'treasuryOldRevision',
  'treasury-proposal-not-approvable': 'treasuryNotApprovable',
  'approver-not-eligible': 'treasuryNotEligible',
}

function ProposalFacts(props: { proposal: TreasuryProposalWire; t: Translate; decimals: DecimalsByAsset }) {
  const { proposal, t, decimals } = props
  const amount = (minor: string) => formatTreasuryAmount(minor, proposal.asset, decimals, t)
  return (
    <>
      <p class="headline">
        <strong>
          {t(`kind_${proposal.kind}`)}: {amount(proposal.amount_minor)}
        </strong>{' '}
        · {proposal.network}
      </p>
      <p class="muted">
        {t('treasuryBalanceSeen', {
          balance: amount(proposal.hot_balance_minor),
          floor: amount(proposal.floor_minor),
          ceiling: amount(proposal.ceiling_minor),
        })}
      </p>
      <p class="muted">
        {t('hotWallet')} <Id value={proposal.hot_wallet_address} /> · {t('coldWallet')}{' '}
        <Id value={proposal.cold_address} />
      </p>
      <p class="muted">
        {t('revision')} {proposal.revision} · <Time value={proposal.created_at} />
      </p>
      {proposal.kind === 'topup_from_cold' && (
        <p data-testid="topup-offline">
          {t('treasuryTopUpOffline', { amount: amount(proposal.amount_minor) })}
        </p>
      )}
    </>
  )
}

function ProposalCard(props: {
  proposal: TreasuryProposalWire
  t: Translate
  decimals: DecimalsByAsset
  approverId: string
  canDecide: boolean
  onDecided: () => void
}) {
  const { proposal, t } = props
  const [code, setCode] = useState('')
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(true)
    setProblem(undefined)
    const body = {
      approver_id: props.approverId,
      revision: proposal.revision,
      totp_code: code.replace(/\s/g, ''),
    }
    try {
      if (decision === 'approve') await client.approveTreasuryProposal({ params: { id: proposal.id }, body })
      else await client.rejectTreasuryProposal({ params: { id: proposal.id }, body })
      setCode('')
      props.onDecided()
    } catch (error) {
      const failure = errorCode(error)
      const known = decisionMessages[failure]
      setProblem(known === undefined ? t('actionFailed', { code: failure }) : t(known))
    } finally {
      setBusy(false)
    }
  }
  const codeId = `totp-${proposal.id}`
  const problemId = `problem-${proposal.id}`
  return (
    <li class="card" data-proposal={proposal.id} data-kind={proposal.kind}>
      <ProposalFacts proposal={proposal} t={t} decimals={props.decimals} />
      {props.canDecide ? (
        <form
          class="row"
          onSubmit={(event) => event.preventDefault()}
          aria-describedby={problem === undefined ? undefined : problemId}
        >
          <label for={codeId}>{t('totpCode')}</label>
          <input
            id={codeId}
            inputMode="numeric"
            autocomplete="one-time-code"
            maxLength={7}
            value={code}
            onInput={(event) => setCode(event.currentTarget.value)}
          />
          {proposal.kind === 'sweep_to_cold' && (
            <button type="button" class="button primary" disabled={busy} onClick={() => decide('approve')}>
              {t('approveSweep')}
            </button>
          )}
          <button type="button" class="button danger" disabled={busy} onClick={() => decide('reject')}>
            {t('reject')}
          </button>
        </form>
      ) : (
        <p class="muted">{t('needsTreasurer')}</p>
      )}
      {problem !== undefined && (
        <p class="error" id={problemId} role="alert">
          {problem}
        </p>
      )}
    </li>
  )
}
