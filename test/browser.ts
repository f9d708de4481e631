import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/** Debian's chromium (TEST_CHROMIUM points elsewhere): the tests never download a browser. */
export const CHROMIUM_PATH = process.env.TEST_CHROMIUM ?? '/usr/bin/chromium'

/**
 * The `skip` option for a suite that needs a browser: false when Debian's chromium is
 * installed, else a one-line reason. Under CI a missing browser fails the run instead.
 */
export function needsChromium (path = CHROMIUM_PATH): string | false {
  if (existsSync(path)) return false
  const reason = `needs ${path} (apt-get install -y chromium), which is missing`
  if (process.env.CI !== undefined && process.env.CI !== '') {
    throw new Error(`CI is set and this suite ${reason}`)
  }
  return reason
}

/**
 * A headless chromium on a new empty profile (Playwright passes it as --user-data-dir);
 * `close()` also removes the profile.
 */
export async function launchChromium ():
Promise<{ context: BrowserContext, close: () => Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'mc-chromium-'))
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      timeout: 30_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    return {
      context,
      close: async () => {
        await context.close()
        await rm(profile, { recursive: true, force: true })
      }
    }
  } catch (error) {
    await rm(profile, { recursive: true, force: true })
    throw error
  }
}
