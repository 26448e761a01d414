import type { InvoiceWire } from '@sluice/sdk/api/invoices'
import { useState } from 'preact/hooks'
import { client, useLoad } from './api.ts'
import type { SectionProps } from './app.tsx'
import type { Translate } from './i18n.ts'
import { DataTable, Id, LoadState, Time } from './parts.tsx'

const invoiceStatuses = ['new', 'processing', 'settled', 'expired', 'invalid'] as const
const invoiceIdPattern = /^inv_[0-9A-HJKMNP-TV-Z]{26}$/

/** Does an invoice match the search text (its id, order id, description, an address or tx hash)? */
function matchesSearch(invoice: InvoiceWire, text: string): boolean {
  const needle = text.trim().toLowerCase()
  if (needle === '') return true
  const haystack = [
    invoice.id,
    invoice.order_id ?? '',
    invoice.description ?? '',
    ...invoice.payment_options.map((option) => option.address),
    ...invoice.payments.map((payment) => payment.tx_hash),
  ]
  return haystack.some((value) => value.toLowerCase().includes(needle))
}

/**
 * Invoices with their payments: a status filter (server side) and a search. An exact invoice id is
 * fetched directly, whatever page it is on; other text searches the latest page.
 */
export function InvoicesSection({ t, revision }: SectionProps) {
  const [status, setStatus] = useState('')
  const [search, setSearch] = useState('')
  const exactId = invoiceIdPattern.test(search.trim()) ? search.trim() : undefined
  const [invoices] = useLoad(async () => {
    if (exactId !== undefined) return [await client.getInvoice({ params: { id: exactId } })]
    const query = status === '' ? { limit: 100 } : { limit: 100, status: status as InvoiceWire['status'] }
    return (await client.listInvoices({ query })).data
  }, [revision, status, exactId])
  const [open, setOpen] = useState<string | undefined>(undefined)
  const shown =
    invoices.kind === 'ok' ? invoices.data.filter((invoice) => matchesSearch(invoice, search)) : []
  return (
    <section aria-labelledby="invoices-heading">
      <h2 id="invoices-heading">{t('invoicesAndPayments')}</h2>
      <div class="row filters">
        <label class="filter">
          {t('status')}
          <select value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
            <option value="">{t('all')}</option>
            {invoiceStatuses.map((name) => (
              <option key={name} value={name}>
                {t(`invoice_${name}`)}
              </option>
            ))}
          </select>
        </label>
        <label class="filter grow">
          {t('search')}
          <input
            type="search"
            value={search}
            placeholder={t('searchInvoicesHint')}
            onInput={(event) => setSearch(event.currentTarget.value)}
          />
        </label>
      </div>
      <LoadState state={invoices} t={t} />
      {invoices.kind === 'ok' && shown.length === 0 && <p class="note">{t('nothingFound')}</p>}
      {shown.length > 0 && (
        <DataTable
          testId="invoices"
          headings={[t('id'), t('amount'), t('paid'), t('status'), t('orderId'), t('created'), t('payments')]}
        >
          {shown.map((invoice) => (
            <InvoiceRow
              key={invoice.id}
              invoice={invoice}
              t={t}
              open={open === invoice.id}
              onToggle={() => setOpen(open === invoice.id ? undefined : invoice.id)}
            />
          ))}
        </DataTable>
      )}
    </section>
  )
}

function InvoiceRow(props: { invoice: InvoiceWire; t: Translate; open: boolean; onToggle: () => void }) {
  const { invoice, t } = props
  return (
    <>
      <tr data-invoice={invoice.id} data-status={invoice.status}>
        <td>
          <Id value={invoice.id} />
        </td>
        <td class="number">
          {invoice.amount} {invoice.currency}
        </td>
        <td class="number">{invoice.amount_paid}</td>
        <td>
          {t(`invoice_${invoice.status}`)}
          {invoice.exception !== 'none' && <span class="muted"> · {invoice.exception}</span>}
        </td>
        <td>{invoice.order_id ?? '—'}</td>
        <td>
          <Time value={invoice.created_at} />
        </td>
        <td>
          <button type="button" class="link" aria-expanded={props.open} onClick={props.onToggle}>
            {invoice.payments.length}
          </button>
        </td>
      </tr>
      {props.open && (
        <tr class="details">
          <td colSpan={7}>
            {invoice.payments.length === 0 ? (
              <p class="note">{t('noPayments')}</p>
            ) : (
              <ul>
                {invoice.payments.map((payment) => (
                  <li key={payment.id}>
                    {payment.amount ?? '?'} {payment.asset ?? ''} · {payment.status} ·{' '}
                    <Id value={payment.tx_hash} />
                  </li>
                ))}
              </ul>
            )}
          </td>
        </tr>
      )}
    </>
  )
}

/** Customers and their permanent deposit addresses; a customer's deposits on request. */
export function CustomersSection({ t, revision }: SectionProps) {
  const [customers] = useLoad(
    async () => (await client.listCustomers({ query: { limit: 100 } })).data,
    [revision],
  )
  const [selected, setSelected] = useState<string | undefined>(undefined)
  const [deposits] = useLoad(
    async () =>
      selected === undefined
        ? []
        : (await client.listCustomerDeposits({ params: { id: selected }, query: { limit: 50 } })).data,
    [revision, selected],
  )
  return (
    <section aria-labelledby="customers-heading">
      <h2 id="customers-heading">{t('customerAccounts')}</h2>
      <LoadState state={customers} t={t} />
      {customers.kind === 'ok' && customers.data.length === 0 && <p class="note">{t('nothingFound')}</p>}
      {customers.kind === 'ok' && customers.data.length > 0 && (
        <DataTable headings={[t('id'), t('externalId'), t('depositAddress'), t('deposits')]}>
          {customers.data.map((customer) => (
            <tr key={customer.id}>
              <td>
                <Id value={customer.id} />
              </td>
              <td>{customer.external_id ?? '—'}</td>
              <td>
                {customer.deposit_addresses[0] === undefined ? (
                  '—'
                ) : (
                  <code>{customer.deposit_addresses[0].address}</code>
                )}
              </td>
              <td>
                <button
                  type="button"
                  class="link"
                  aria-pressed={selected === customer.id}
                  onClick={() => setSelected(selected === customer.id ? undefined : customer.id)}
                >
                  {t('show')}
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {selected !== undefined && (
        <>
          <h3>{t('deposits')}</h3>
          <LoadState state={deposits} t={t} />
          {deposits.kind === 'ok' && deposits.data.length === 0 && <p class="note">{t('noPayments')}</p>}
          {deposits.kind === 'ok' && (
            <ul>
              {deposits.data.map((payment) => (
                <li key={payment.id}>
                  {payment.amount ?? '?'} {payment.asset ?? ''} · {payment.status} ·{' '}
                  <Id value={payment.tx_hash} />
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  )
}
