import { runProcess } from './process.ts'

// Production role: the HTTP API only (needs DATABASE_URL). Run workers with `npm run worker`.
await runProcess('api', (runtime) => {
  runtime.logger.info({ url: runtime.apiUrl }, 'api listening')
})
