import { useEffect, useState } from 'preact/hooks'
import {
  detectLanguage,
  isLanguage,
  type Language,
  languageNames,
  languages,
  type Translate,
  translator,
} from './i18n.ts'
import {
  fetchInvoice,
  fetchNetworkFees,
  formatCountdown,
  formatDuration,
  formatFee,
  type Invoice,
  invoiceIdFromPath,
  invoiceStreamUrl,
  isPayable,
  type Loaded,
  type NetworkFee,
  type PaymentOption,
  phaseMessage,
  phaseOf,
  qrUrl,
  safeRedirect,
  subtractDecimal,
} from './model.ts'

/**
 * Live by server-sent events: the stream sends the invoice whenever it changes. If the stream cannot be
 * held (a proxy, the server's stream limit), the page polls, slowly: 15 s keeps a dropped stream from
 * becoming a polling storm, and EventSource keeps trying to reconnect meanwhile.
 */
const fallbackPollMs = 15_000
const languageStorageKey = 'sluice.checkout.language'

function initialLanguage(): Language {
  try {
    const saved = localStorage.getItem(languageStorageKey)
    if (isLanguage(saved)) return saved
  } catch {
    // Storage can be disabled (private modes); detection still works.
  }
  return detectLanguage(navigator.languages ?? [navigator.language])
}

const isFinal = (loaded: Loaded) =>
  loaded.kind === 'not-found' ||
  (loaded.kind === 'ok' && (loaded.invoice.status === 'settled' || loaded.invoice.status === 'invalid'))

function useInvoice(id: string): Loaded | undefined {
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined)
  useEffect(() => {
    const controller = new AbortController()
    let final = false
    // A failed read keeps the last good invoice on screen rather than blanking a page mid-payment.
    const apply = (next: Loaded) => {
      setLoaded((previous) => (next.kind === 'error' && previous?.kind === 'ok' ? previous : next))
      if (isFinal(next)) {
        final = true
        source?.close()
      }
    }
    const source = typeof EventSource === 'undefined' ? undefined : new EventSource(invoiceStreamUrl(id))
    source?.addEventListener('invoice', (event) => {
      apply({ kind: 'ok', invoice: JSON.parse((event as MessageEvent<string>).data) as Invoice })
    })
    const read = async () => {
      const next = await fetchInvoice(id, controller.signal)
      if (!controller.signal.aborted) apply(next)
    }
    void read()
    const poll = setInterval(() => {
      if (!final && source?.readyState !== EventSource.OPEN) void read()
    }, fallbackPollMs)
    return () => {
      controller.abort()
      source?.close()
      clearInterval(poll)
    }
  }, [id])
  return loaded
}

/** Fee and speed per network, read once per page (they are hints, not quotes). */
function useNetworkFees(): readonly NetworkFee[] {
  const [fees, setFees] = useState<readonly NetworkFee[]>([])
  useEffect(() => {
    const controller = new AbortController()
    void fetchNetworkFees(controller.signal).then((next) => {
      if (!controller.signal.aborted) setFees(next)
    })
    return () => controller.abort()
  }, [])
  return fees
}

function useNow(): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [])
  return now
}

export function Checkout() {
  const id = invoiceIdFromPath(location.pathname)
  const [language, setLanguage] = useState<Language>(initialLanguage)
  const loaded = useInvoice(id)
  const t = translator(language)
  useEffect(() => {
    document.documentElement.lang = language
    document.title = t('title')
  }, [language, t])
  const choose = (next: Language) => {
    setLanguage(next)
    try {
      localStorage.setItem(languageStorageKey, next)
    } catch {
      // Not remembered across visits; the choice still applies now.
    }
  }
  return (
    <div class="card">
      <header class="top">
        <h1>{t('title')}</h1>
        <LanguageSwitcher language={language} onChange={choose} t={t} />
      </header>
      {loaded === undefined && <p class="note">{t('loading')}</p>}
      {loaded?.kind === 'not-found' && <p class="note error">{t('notFound')}</p>}
      {loaded?.kind === 'error' && <p class="note error">{t('loadFailed')}</p>}
      {loaded?.kind === 'ok' && <InvoiceView invoice={loaded.invoice} t={t} />}
    </div>
  )
}

function LanguageSwitcher(props: {
  language: Language
  onChange: (language: Language) => void
  t: Translate
}) {
  return (
    <label class="language">
      <span class="visually-hidden">{props.t('language')}</span>
      <select
        value={props.language}
        onChange={(event) => {
          const value = event.currentTarget.value
          if (isLanguage(value)) props.onChange(value)
        }}
      >
        {languages.map((language) => (
          <option key={language} value={language} lang={language}>
            {languageNames[language]}
          </option>
        ))}
      </select>
    </label>
  )
}

function InvoiceView({ invoice, t }: { invoice: Invoice; t: Translate }) {
  const [network, setNetwork] = useState<string | undefined>(undefined)
  const fees = useNetworkFees()
  const option =
    invoice.payment_options.find((candidate) => candidate.network === network) ?? invoice.payment_options[0]
  const redirect = safeRedirect(invoice.redirect_url)
  return (
    <>
      <section class="amount" aria-label={t('amountDue')}>
        <span class="label">{t('amountDue')}</span>
        <strong data-testid="amount">
          {invoice.amount} {invoice.currency}
        </strong>
        {invoice.description !== null && <p class="description">{invoice.description}</p>}
      </section>
      <StatusBanner invoice={invoice} t={t} />
      {isPayable(invoice) && option !== undefined && (
        <>
          <NetworkSelector
            options={invoice.payment_options}
            fees={fees}
            selected={option.network}
            onSelect={setNetwork}
            t={t}
          />
          <PayPanel invoiceId={invoice.id} option={option} t={t} />
          <Countdown expiresAt={invoice.expires_at} t={t} />
        </>
      )}
      <Payments invoice={invoice} t={t} />
      {invoice.status === 'settled' && <Receipt invoice={invoice} t={t} />}
      {invoice.status === 'settled' && redirect !== undefined && (
        <a class="button primary return" href={redirect} rel="noopener">
          {t('returnToMerchant')}
        </a>
      )}
    </>
  )
}

function StatusBanner({ invoice, t }: { invoice: Invoice; t: Translate }) {
  const phase = phaseOf(invoice)
  return (
    <div class={`status status-${phase}`} role="status" aria-live="polite" data-phase={phase}>
      <p class="status-text">{t(phaseMessage(invoice))}</p>
      {phase === 'partial' && (
        <p class="remaining">
          {t('remaining', {
            amount: subtractDecimal(invoice.amount, invoice.amount_paid),
            currency: invoice.currency,
          })}
        </p>
      )}
      {phase === 'expired' && <p class="hint">{t('statusExpiredHint')}</p>}
    </div>
  )
}

function NetworkSelector(props: {
  options: readonly PaymentOption[]
  fees: readonly NetworkFee[]
  selected: string
  onSelect: (network: string) => void
  t: Translate
}) {
  // Native radios: arrow keys move between networks, and screen readers announce the group.
  return (
    <fieldset class="networks">
      <legend>{props.t('network')}</legend>
      {props.options.map((option) => (
        <label key={option.network} class={option.network === props.selected ? 'chip selected' : 'chip'}>
          <input
            type="radio"
            name="network"
            value={option.network}
            checked={option.network === props.selected}
            onChange={() => props.onSelect(option.network)}
          />
          <span>
            {option.symbol} · {option.network}
          </span>
          <FeeHint fee={props.fees.find((fee) => fee.network === option.network)} t={props.t} />
        </label>
      ))}
    </fieldset>
  )
}

/** "fee ≈ 0.0013 · final in ~2 min", and a cheaper / faster badge where networks differ. */
function FeeHint({ fee, t }: { fee: NetworkFee | undefined; t: Translate }) {
  if (fee === undefined) return null
  return (
    <span class="fee" data-testid={`fee-${fee.network}`}>
      {fee.fee_native !== null && <span>{t('feeEstimate', { fee: formatFee(fee.fee_native) })}</span>}
      <span>{t('finalIn', { time: formatDuration(fee.final_seconds) })}</span>
      {fee.cheapest && <span class="hint">{t('cheaper')}</span>}
      {fee.fastest && <span class="hint">{t('faster')}</span>}
    </span>
  )
}

function PayPanel({ invoiceId, option, t }: { invoiceId: string; option: PaymentOption; t: Translate }) {
  return (
    <section class="pay" aria-label={t('scanToPay')}>
      <figure class="qr">
        <img
          src={qrUrl(invoiceId, option.network)}
          width={240}
          height={240}
          alt={t('qrAlt', { amount: option.amount, symbol: option.symbol, network: option.network })}
        />
        <figcaption>{t('scanToPay')}</figcaption>
      </figure>
      <CopyField
        label={t('sendExactly')}
        value={option.amount}
        suffix={option.symbol}
        copyLabel={t('copyAmount')}
        testId="pay-amount"
        t={t}
      />
      <CopyField
        label={t('toAddress')}
        value={option.address}
        copyLabel={t('copyAddress')}
        testId="pay-address"
        t={t}
      />
      <p class="contract">
        {t('tokenContract')}: <code>{option.contract_address}</code>
      </p>
      <a class="button" href={option.payment_uri}>
        {t('openWallet')}
      </a>
    </section>
  )
}

function CopyField(props: {
  label: string
  value: string
  suffix?: string
  copyLabel: string
  testId: string
  t: Translate
}) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value)
      setCopied(true)
      setTimeout(() => setCopied(false), 1500)
    } catch {
      // No clipboard (insecure context, denied): the value stays selectable by hand.
    }
  }
  return (
    <div class="field">
      <span class="label">{props.label}</span>
      <div class="value-row">
        <code class="value" data-testid={props.testId}>
          {props.value}
          {props.suffix !== undefined && ` ${props.suffix}`}
        </code>
        <button type="button" class="button copy" onClick={copy} aria-label={props.copyLabel}>
          {copied ? props.t('copied') : props.t('copy')}
        </button>
      </div>
    </div>
  )
}

function Countdown({ expiresAt, t }: { expiresAt: string; t: Translate }) {
  const now = useNow()
  const left = Date.parse(expiresAt) - now
  return (
    <p class="countdown">
      {t('expiresIn')}{' '}
      <time dateTime={expiresAt} data-testid="countdown">
        {formatCountdown(left)}
      </time>
    </p>
  )
}

function Payments({ invoice, t }: { invoice: Invoice; t: Translate }) {
  if (invoice.payments.length === 0) return null
  return (
    <section class="payments" aria-label={t('payments')}>
      <h2>{t('payments')}</h2>
      <ul>
        {invoice.payments.map((payment, index) => (
          <li key={`${payment.tx_hash}-${index}`} data-payment-status={payment.status}>
            <span class={`badge badge-${payment.status}`}>{t(`payment_${payment.status}`)}</span>
            <span>
              {payment.amount ?? '?'} {payment.asset ?? ''}
            </span>
            {payment.explorer_url === null ? (
              <code class="hash" title={t('transaction')}>
                {payment.tx_hash}
              </code>
            ) : (
              <a
                class="hash"
                href={payment.explorer_url}
                rel="noopener noreferrer"
                target="_blank"
                title={t('viewOnExplorer')}
              >
                <code>{payment.tx_hash}</code>
              </a>
            )}
          </li>
        ))}
      </ul>
    </section>
  )
}

/** What the buyer keeps: the invoice, what was due and paid, when; printable (print stylesheet). */
function Receipt({ invoice, t }: { invoice: Invoice; t: Translate }) {
  const paidAt = invoice.payments
    .map((payment) => payment.detected_at)
    .sort()
    .at(-1)
  return (
    <section class="receipt" aria-label={t('receipt')} data-testid="receipt">
      <h2>{t('receipt')}</h2>
      <dl>
        <dt>{t('receiptInvoice')}</dt>
        <dd>
          <code>{invoice.id}</code>
        </dd>
        <dt>{t('receiptAmount')}</dt>
        <dd>
          {invoice.amount} {invoice.currency}
        </dd>
        <dt>{t('receiptPaid')}</dt>
        <dd>
          {invoice.amount_paid} {invoice.currency}
        </dd>
        {paidAt !== undefined && (
          <>
            <dt>{t('receiptDate')}</dt>
            <dd>
              <time dateTime={paidAt}>
                {new Date(paidAt).toLocaleString(document.documentElement.lang || undefined)}
              </time>
            </dd>
          </>
        )}
      </dl>
      <button type="button" class="button print" onClick={() => window.print()}>
        {t('printReceipt')}
      </button>
    </section>
  )
}
