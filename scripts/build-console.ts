// Builds the console's page into dist/console-web (index.html, app.js, app.css) with esbuild, from
// web/console and its npm dependencies: nothing is fetched at run time.
import { copyFileSync, mkdirSync } from 'node:fs'
import { build } from 'esbuild'

const out = 'dist/console-web'
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { app: 'web/console/app.ts' }, bundle: true, format: 'esm', target: 'es2022', minify: true,
  outdir: out, logLevel: 'warning', legalComments: 'linked'
})
copyFileSync('web/console/index.html', `${out}/index.html`)
