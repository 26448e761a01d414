/** Migrated once per test run (this prefix and a random suffix); every test database is a copy of it. */
export const templateDatabasePrefix = 'sluice_test_template_'

export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}
