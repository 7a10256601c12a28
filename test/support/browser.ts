import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { tempDir } from './temp-dir.js'

/** Debian's chromium (`apt-get install -y chromium`); no browser is downloaded. */
export const CHROMIUM = process.env.PORTICO_CHROMIUM ?? '/usr/bin/chromium'
/** Where browser tests leave their screenshots, to be looked at. */
export const ARTIFACTS = process.env.PORTICO_TEST_ARTIFACTS ?? join(process.cwd(), 'test-artifacts')

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install -y chromium)`)
  // Without the background-networking flags Chromium keeps calling home, and this machine refuses it.
  return puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: tempDir('portico-chromium-'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']
  })
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: unknown[] }

/** axe-core's findings on the page as it is, serious and critical ones only. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
  await page.evaluate(source)
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: AxeViolation[] }> } }).axe
    return (await axe.run()).violations
  })
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}
