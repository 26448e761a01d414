import type { ComponentChildren } from 'preact'
import type { Loaded } from './api.ts'
import type { Translate } from './i18n.ts'

/** Loading and error lines every section shows the same way. */
export function LoadState<T>({ state, t }: { state: Loaded<T>; t: Translate }) {
  if (state.kind === 'loading') return <p class="note">{t('loading')}</p>
  if (state.kind === 'error')
    return (
      <p class="error" role="alert">
        {t('loadFailed', { code: state.code })}
      </p>
    )
  return null
}

/** A timestamp in the reader's locale, with the exact value on hover and for machines. */
export function Time({ value }: { value: string | null }) {
  if (value === null) return <span>—</span>
  return (
    <time dateTime={value} title={value}>
      {new Date(value).toLocaleString()}
    </time>
  )
}

/** Long ids and hashes: shortened on screen, whole for copy, search and screen readers. */
export function Id({ value }: { value: string }) {
  const short = value.length > 18 ? `${value.slice(0, 10)}…${value.slice(-6)}` : value
  return (
    <code title={value}>
      <span aria-hidden="true">{short}</span>
      <span class="visually-hidden">{value}</span>
    </code>
  )
}

/** A scrollable table with one row of column headings; `children` are the body's rows. */
export function DataTable(props: {
  testId?: string
  headings: readonly string[]
  children: ComponentChildren
}) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            {props.headings.map((heading) => (
              <th key={heading} scope="col">
                {heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  )
}
