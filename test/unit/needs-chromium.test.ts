import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { needsChromium } from '../browser.js'

describe('needsChromium', () => {
  const saved = process.env.CI
  afterEach(() => {
    if (saved === undefined) delete process.env.CI
    else process.env.CI = saved
  })

  it('should give a one-line reason to skip when chromium is missing and CI is unset', () => {
    delete process.env.CI
    const reason = needsChromium('/nonexistent/chromium')

    assert.equal(typeof reason, 'string')
    assert.match(reason as string, /^needs \/nonexistent\/chromium \(apt-get install -y chromium\)/)
    assert.doesNotMatch(reason as string, /\n/)
  })

  it('should fail instead of skipping when chromium is missing and CI is set', () => {
    process.env.CI = 'true'
    assert.throws(() => needsChromium('/nonexistent/chromium'), /^Error: CI is set/)
  })

  it('should not skip when the browser is there', () => {
    process.env.CI = 'true'
    assert.equal(needsChromium(process.execPath), false)
  })
})
