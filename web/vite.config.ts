import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// Two pages, one build each (`vite build` and `vite build --mode dashboard`, both run by `npm run build`):
// - the hosted checkout, served at /pay/<id> with its assets under /assets/checkout/
//   (server/src/http/routes/checkout.ts);
// - the operator dashboard, served at /dashboard with its assets under /assets/dashboard/
//   (server/src/http/routes/dashboard.ts).
// Preact's JSX through esbuild: no plugin needed for pages this size.
export default defineConfig(({ mode }) => {
  const app = mode === 'dashboard' ? 'dashboard' : 'checkout'
  return {
    root: resolve(import.meta.dirname, `src/${app}`),
    base: `/assets/${app}/`,
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: {
      outDir: resolve(import.meta.dirname, `dist/${app}`),
      emptyOutDir: true,
      // Flat output: the gateway maps /assets/<app>/<file> to dist/<app>/<file>.
      assetsDir: '',
      // Every browser that runs ES modules we target supports modulepreload; the polyfill is dead weight.
      modulePreload: { polyfill: false },
      target: 'es2020',
    },
  }
})
