import {
  type DashboardSessionWire,
  getDashboardSession,
  signInDashboard,
  signOutDashboard,
} from '@sluice/sdk/api/dashboard'
import { useEffect, useState } from 'preact/hooks'
import { detectLanguage, isLanguage, type Language, languageNames, languages } from '../checkout/i18n.ts'
import { client, errorCode, isSessionError, useLiveRevision } from './api.ts'
import { type Translate, translator } from './i18n.ts'
import { OverviewSection } from './overview.tsx'
import { PasskeysSection, passkeyProblem, passkeysSupported, signInWithAPasskey } from './passkeys.tsx'
import { PayoutsSection } from './payouts.tsx'
import { CustomersSection, InvoicesSection } from './records.tsx'
import { ApiKeysSection, PolicySection, WebhooksSection } from './settings.tsx'

const languageStorageKey = 'sluice.dashboard.language'

function initialLanguage(): Language {
  try {
    const saved = localStorage.getItem(languageStorageKey)
    if (isLanguage(saved)) return saved
  } catch {
    // Storage can be disabled; detection still works.
  }
  return detectLanguage(navigator.languages ?? [navigator.language])
}

const sections = [
  'overview',
  'invoices',
  'customers',
  'payouts',
  'policy',
  'webhooks',
  'apiKeys',
  'passkeys',
] as const
type Section = (typeof sections)[number]

export type SectionProps = Readonly<{ t: Translate; session: DashboardSessionWire; revision: number }>

export function Dashboard() {
  const [language, setLanguage] = useState<Language>(initialLanguage)
  const [session, setSession] = useState<DashboardSessionWire | null | undefined>(undefined)
  const t = translator(language)
  useEffect(() => {
    document.documentElement.lang = language
    document.title = t('title')
  }, [language, t])
  useEffect(() => {
    client.send(getDashboardSession).then(
      (response) => setSession(response.data),
      () => setSession(null),
    )
  }, [])
  const choose = (next: Language) => {
    setLanguage(next)
    try {
      localStorage.setItem(languageStorageKey, next)
    } catch {
      // Not remembered; the choice still applies now.
    }
  }
  const switcher = <LanguageSwitcher language={language} onChange={choose} t={t} />
  if (session === undefined) return <p class="note">{t('loading')}</p>
  if (session === null) return <SignIn t={t} onSignedIn={setSession} switcher={switcher} />
  return (
    <Shell
      t={t}
      session={session}
      switcher={switcher}
      onSignedOut={() => setSession(null)}
      onSessionChanged={setSession}
    />
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

function SignIn(props: {
  t: Translate
  onSignedIn: (session: DashboardSessionWire) => void
  switcher: preact.JSX.Element
}) {
  const { t } = props
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    setBusy(true)
    setProblem(undefined)
    try {
      const response = await client.send(signInDashboard, {
        body: {
          login: String(form.get('login') ?? ''),
          password: String(form.get('password') ?? ''),
          totp_code: String(form.get('totp') ?? '').replace(/\s/g, ''),
        },
      })
      props.onSignedIn(response.data)
    } catch (error) {
      const code = errorCode(error)
      setProblem(
        code === 'sign-in-rate-limited'
          ? t('signInRateLimited')
          : code === 'validation-failed'
            ? t('signInInvalid')
            : code === 'network'
              ? t('networkError')
              : t('signInFailed'),
      )
    } finally {
      setBusy(false)
    }
  }
  // A verified passkey stands for password and code together (docs/adr/0019-passkeys.md).
  const withPasskey = async () => {
    setBusy(true)
    setProblem(undefined)
    try {
      props.onSignedIn(await signInWithAPasskey())
    } catch (error) {
      setProblem(passkeyProblem(error, t))
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="sign-in">
      <header class="top">
        <h1>{t('title')}</h1>
        {props.switcher}
      </header>
      <form
        class="card"
        onSubmit={submit}
        aria-describedby={problem === undefined ? undefined : 'sign-in-error'}
      >
        <h2>{t('signIn')}</h2>
        <label>
          {t('login')}
          <input name="login" autocomplete="username" required maxLength={100} />
        </label>
        <label>
          {t('password')}
          <input name="password" type="password" autocomplete="current-password" required maxLength={1024} />
        </label>
        <label>
          {t('totpCode')}
          <input
            name="totp"
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9 ]{6,7}"
            required
            maxLength={7}
          />
        </label>
        {problem !== undefined && (
          <p class="error" id="sign-in-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          {t('signIn')}
        </button>
      </form>
      {passkeysSupported() && (
        <div class="card stack">
          <button type="button" class="button" disabled={busy} onClick={withPasskey}>
            {t('signInWithPasskey')}
          </button>
        </div>
      )}
    </main>
  )
}

function Shell(props: {
  t: Translate
  session: DashboardSessionWire
  switcher: preact.JSX.Element
  onSignedOut: () => void
  onSessionChanged: (session: DashboardSessionWire) => void
}) {
  const { t, session } = props
  const [section, setSection] = useState<Section>('overview')
  const live = useLiveRevision(true)
  const signOut = async () => {
    await client.send(signOutDashboard).catch(() => {})
    props.onSignedOut()
  }
  // A call answering 401 means the session ended (expired, idle, signed out elsewhere): back to sign-in.
  useEffect(() => {
    if (live.revision === 0) return
    client.send(getDashboardSession).catch((error: unknown) => {
      if (isSessionError(error)) props.onSignedOut()
    })
  }, [live.revision, props.onSignedOut])
  const sectionProps: SectionProps = { t, session, revision: live.revision }
  return (
    <div class="shell">
      <header class="top">
        <div>
          <h1>{t('title')}</h1>
          <p class="who">
            {session.store_name} · {session.name} ({session.roles.map((role) => t(`role_${role}`)).join(', ')}
            )
          </p>
        </div>
        <div class="top-actions">
          <span class={live.connected ? 'live on' : 'live'} data-testid="live" role="status">
            {live.connected ? t('liveOn') : t('liveOff')}
          </span>
          {props.switcher}
          <button type="button" class="button" onClick={signOut}>
            {t('signOut')}
          </button>
        </div>
      </header>
      <nav aria-label={t('sections')}>
        <ul class="tabs">
          {sections.map((name) => (
            <li key={name}>
              <button
                type="button"
                class="tab"
                aria-current={name === section ? 'page' : undefined}
                onClick={() => setSection(name)}
              >
                {t(`section_${name}`)}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main class="content">
        {section === 'overview' && <OverviewSection {...sectionProps} />}
        {section === 'invoices' && <InvoicesSection {...sectionProps} />}
        {section === 'customers' && <CustomersSection {...sectionProps} />}
        {section === 'payouts' && <PayoutsSection {...sectionProps} />}
        {section === 'policy' && <PolicySection {...sectionProps} />}
        {section === 'webhooks' && <WebhooksSection {...sectionProps} />}
        {section === 'apiKeys' && <ApiKeysSection {...sectionProps} />}
        {section === 'passkeys' && (
          <PasskeysSection {...sectionProps} onSessionChanged={props.onSessionChanged} />
        )}
      </main>
    </div>
  )
}
