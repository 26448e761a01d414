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
import { TreasurySection } from './treasury.tsx'

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
  'treasury',
  'policy',
  'webhooks',
  'apiKeys',
  'passkeys',
] as const
type Section = (typeof sections)[number]

/**
 * The sections a person sees. The treasury is the operator's: only operator stores' people get its
 * entry (docs/adr/0026-operator-store.md); the server refuses anyone else's calls anyway.
 */
function sectionsOf(session: DashboardSessionWire): readonly Section[] {
  return session.operator_store ? sections : sections.filter((name) => name !== 'treasury')
}

/** The section the address names (`/dashboard#payouts`), if this person may see it; else the overview. */
function sectionFromAddress(available: readonly Section[]): Section {
  const named = location.hash.slice(1)
  return available.find((name) => name === named) ?? 'overview'
}

/** Writes the section into the address without a history entry (a section the person may not see too). */
function showInAddress(section: Section): void {
  if (location.hash !== `#${section}`) history.replaceState(null, '', `#${section}`)
}

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
  const available = sectionsOf(session)
  const [section, setSection] = useState<Section>(() => sectionFromAddress(available))
  const live = useLiveRevision(true)
  // The address follows the section (a link or reload opens it again) and a typed address moves to it.
  useEffect(() => {
    const follow = () => {
      const next = sectionFromAddress(sectionsOf(session))
      setSection(next)
      showInAddress(next)
    }
    addEventListener('hashchange', follow)
    return () => removeEventListener('hashchange', follow)
  }, [session])
  useEffect(() => showInAddress(section), [section])
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
          {available.map((name) => (
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
        {section === 'treasury' && session.operator_store && <TreasurySection {...sectionProps} />}
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
