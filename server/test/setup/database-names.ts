/** Migrated once per test run; every test database is a copy of it. */
export const templateDatabaseName = 'sluice_test_template'

export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}
