import { decidePayoutWithPasskey } from '@sluice/sdk/api/dashboard'
import type { PayoutWire } from '@sluice/sdk/api/payouts'
import { useState } from 'preact/hooks'
import { client, errorCode, useLoad } from './api.ts'
import type { SectionProps } from './app.tsx'
import type { MessageKey, Translate } from './i18n.ts'
import { DataTable, Id, LoadState, Time } from './parts.tsx'
import { assertFor, passkeyProblem, passkeysSupported } from './passkeys.tsx'

const payoutStatuses = [
  'pending_approval',
  'approved',
  'delayed',
  'queued',
  'broadcast',
  'confirmed',
  'finalized',
  'failed',
  'cancelled',
  'blocked',
] as const

/** The approval queue (approve or reject with a TOTP code) and every payout, filtered by status. */
export function PayoutsSection({ t, session, revision }: SectionProps) {
  const [queue, reloadQueue] = useLoad(
    async () => (await client.listPayouts({ query: { status: 'pending_approval', limit: 50 } })).data,
    [revision],
  )
  const [status, setStatus] = useState<string>('')
  const [all, reloadAll] = useLoad(
    async () =>
      (
        await client.listPayouts({
          query: status === '' ? { limit: 50 } : { limit: 50, status: status as PayoutWire['status'] },
        })
      ).data,
    [revision, status],
  )
  const canDecide = session.scopes.includes('payouts:approve')
  const decided = () => {
    reloadQueue()
    reloadAll()
  }
  return (
    <>
      <section aria-labelledby="queue-heading">
        <h2 id="queue-heading">{t('approvalQueue')}</h2>
        <LoadState state={queue} t={t} />
        {queue.kind === 'ok' && queue.data.length === 0 && <p class="note">{t('queueEmpty')}</p>}
        {queue.kind === 'ok' && (
          <ul class="cards" data-testid="approval-queue">
            {queue.data.map((payout) => (
              <ApprovalCard
                key={`${payout.id}-${payout.revision}`}
                payout={payout}
                t={t}
                approverId={session.approver_id}
                canDecide={canDecide}
                hasPasskey={session.passkeys > 0 && passkeysSupported()}
                onDecided={decided}
              />
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="payouts-heading">
        <h2 id="payouts-heading">{t('payouts')}</h2>
        <label class="filter">
          {t('status')}
          <select value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
            <option value="">{t('all')}</option>
            {payoutStatuses.map((name) => (
              <option key={name} value={name}>
                {t(`payout_${name}`)}
              </option>
            ))}
          </select>
        </label>
        <LoadState state={all} t={t} />
        {all.kind === 'ok' && (
          <DataTable
            testId="payouts"
            headings={[t('id'), t('amount'), t('destination'), t('status'), t('transaction'), t('created')]}
          >
            {all.data.map((payout) => (
              <tr key={payout.id} data-payout={payout.id} data-status={payout.status}>
                <td>
                  <Id value={payout.id} />
                </td>
                <td class="number">
                  {payout.amount} {payout.asset}
                </td>
                <td>
                  <Id value={payout.destination} />
                </td>
                <td>{t(`payout_${payout.status}`)}</td>
                <td>{payout.tx_hash === null ? '—' : <Id value={payout.tx_hash} />}</td>
                <td>
                  <Time value={payout.created_at} />
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
    </>
  )
}

/** What a refused decision means for the person deciding. */
const decisionMessages: Readonly<Record<string, MessageKey>> = {
  'approval-totp-invalid': 'decisionTotpInvalid',
  'payout-old-revision': 'decisionOldRevision',
  'approver-not-eligible': 'decisionNotEligible',
  'approval-duplicate': 'decisionDuplicate',
  'payout-status-conflict': 'decisionOldRevision',
}

function RuleText({ payout, t }: { payout: PayoutWire; t: Translate }) {
  const { decision } = payout
  const policy =
    decision.policy_version === null
      ? t('builtInPolicy')
      : t('policyVersion', { version: String(decision.policy_version) })
  const rule = decision.rule_id === null ? t('defaultRule') : t('ruleId', { rule: decision.rule_id })
  return (
    <p class="rule" data-testid="payout-rule">
      {t('askedBy')}: {policy} · {rule} · {decision.reason}
    </p>
  )
}

function ApprovalCard(props: {
  payout: PayoutWire
  t: Translate
  approverId: string
  canDecide: boolean
  hasPasskey: boolean
  onDecided: () => void
}) {
  const { payout, t } = props
  const [code, setCode] = useState('')
  const [reason, setReason] = useState('')
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(true)
    setProblem(undefined)
    const body = {
      approver_id: props.approverId,
      revision: payout.revision,
      totp_code: code.replace(/\s/g, ''),
      ...(reason.trim() === '' ? {} : { reason: reason.trim() }),
    }
    try {
      if (decision === 'approve') await client.approvePayout({ params: { id: payout.id }, body })
      else await client.rejectPayout({ params: { id: payout.id }, body })
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
  const codeId = `totp-${payout.id}`
  return (
    <li class="card" data-payout={payout.id}>
      <p class="headline">
        <strong>
          {payout.amount} {payout.asset}
        </strong>{' '}
        → <Id value={payout.destination} />
      </p>
      <RuleText payout={payout} t={t} />
      <p class="muted">
        {t('approvalsRequired', {
          count: String(payout.approvals_required),
          role: payout.approval_role ?? 'approver',
        })}{' '}
        · {t('revision')} {payout.revision} · <Time value={payout.created_at} />
      </p>
      {props.canDecide ? (
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
          <label>
            {t('reason')}
            <input
              value={reason}
              maxLength={1000}
              onInput={(event) => setReason(event.currentTarget.value)}
            />
          </label>
          <button type="button" class="button primary" disabled={busy} onClick={() => decide('approve')}>
            {t('approve')}
          </button>
          <button type="button" class="button danger" disabled={busy} onClick={() => decide('reject')}>
            {t('reject')}
          </button>
          {props.hasPasskey && (
            <PasskeyDecision
              payout={payout}
              reason={reason}
              t={t}
              busy={busy}
              setBusy={setBusy}
              setProblem={setProblem}
              onDecided={props.onDecided}
            />
          )}
        </form>
      ) : (
        <p class="muted">{t('needsApprover')}</p>
      )}
      {problem !== undefined && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </li>
  )
}

/** Approve or reject with a passkey instead of a TOTP code. */
function PasskeyDecision(props: {
  payout: PayoutWire
  reason: string
  t: Translate
  busy: boolean
  setBusy: (busy: boolean) => void
  setProblem: (problem: string | undefined) => void
  onDecided: () => void
}) {
  const { payout, reason, t, busy, setBusy, setProblem } = props
  // The assertion's challenge names this payout, its revision and the decision: it approves nothing else.
  const decideWithPasskey = async (decision: 'approve' | 'reject') => {
    setBusy(true)
    setProblem(undefined)
    try {
      const assertion = await assertFor({
        kind: 'payout-decision',
        payout_id: payout.id,
        revision: payout.revision,
        decision,
      })
      await client.send(decidePayoutWithPasskey, {
        params: { id: payout.id },
        body: {
          revision: payout.revision,
          decision,
          assertion,
          ...(reason.trim() === '' ? {} : { reason: reason.trim() }),
        },
      })
      props.onDecided()
    } catch (error) {
      const known = decisionMessages[errorCode(error)]
      setProblem(known === undefined ? passkeyProblem(error, t) : t(known))
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <button
        type="button"
        class="button primary"
        disabled={busy}
        onClick={() => decideWithPasskey('approve')}
      >
        {t('approveWithPasskey')}
      </button>
      <button type="button" class="button danger" disabled={busy} onClick={() => decideWithPasskey('reject')}>
        {t('rejectWithPasskey')}
      </button>
    </>
  )
}
