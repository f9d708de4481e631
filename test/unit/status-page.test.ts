import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildApp } from '../../src/app.js'
import { StoreError } from '../../src/errors.js'
import { duration, freshnessOf } from '../../src/routes/status-page.js'
import { seededContext } from '../status-fixtures.js'

/** The HTML of one brand's card. */
function cardOf (html: string, brand: string): string {
  const start = html.indexOf(`data-brand="${brand}"`)
  assert.notEqual(start, -1, `no card for ${brand}`)
  const end = html.indexOf('</section>', start)
  return html.slice(start, end)
}

describe('GET /', () => {
  it('should show each brand as fresh, stale, failing or empty with its age', async () => {
    const app = await buildApp(await seededContext())
    try {
      const response = await app.inject({ method: 'GET', url: '/' })

      assert.equal(response.statusCode, 200)
      assert.match(response.headers['content-type'] as string, /^text\/html; charset=utf-8/)
      assert.match(response.body, /<meta http-equiv="refresh" content="30">/)
      assert.match(cardOf(response.body, 'fresh-shop'), /tag fresh">fresh<.*cached 2 min ago/s)
      assert.match(cardOf(response.body, 'stale-shop'),
        /tag stale">stale<.*cached 3 h ago, past its TTL of 1 h/s)
      assert.match(cardOf(response.body, 'failing-shop'),
        /tag failing">failing<.*cached 1 d ago.*Last refresh failed.*SOURCE_QUERY_FAILED/s)
      assert.match(cardOf(response.body, 'new-shop'), /tag empty">empty<.*nothing cached yet/s)
      assert.match(response.body, /4 brands: .*1 fresh.*1 stale.*1 failing.*1 empty/)
    } finally {
      await app.close()
    }
  })

  it('should escape error messages and values, and forbid scripts', async () => {
    const app = await buildApp(await seededContext())
    try {
      const response = await app.inject({ method: 'GET', url: '/' })

      assert.doesNotMatch(response.body, /<script>|<img/)
      assert.match(cardOf(response.body, 'failing-shop'),
        /does not exist &#60;script&#62;window.__xss = 1&#60;\/script&#62;&#60;img/)
      assert.equal(response.headers['content-security-policy'],
        "default-src 'none'; style-src 'unsafe-inline'")
    } finally {
      await app.close()
    }
  })

  it('should answer 503 with a readable page when the cache store fails', async () => {
    const ctx = await seededContext()
    ctx.store.getMany = async () => { throw new StoreError('The store did not answer.') }
    const app = await buildApp(ctx)
    try {
      const response = await app.inject({ method: 'GET', url: '/' })

      assert.equal(response.statusCode, 503)
      assert.match(response.body, /The cache store did not answer/)
    } finally {
      await app.close()
    }
  })
})

describe('freshnessOf and duration', () => {
  it('should call metrics exactly at the TTL fresh and one second later stale', () => {
    const view = { brand: 'a', metrics: {}, status: null, age_seconds: 3600 }
    assert.equal(freshnessOf(view, 3600), 'fresh')
    assert.equal(freshnessOf({ ...view, age_seconds: 3601 }, 3600), 'stale')
  })

  it('should write ages the way a person reads them', () => {
    assert.deepEqual([59, 60, 3599, 3600, 3660, 86_400, 90_000].map(duration),
      ['59 s', '1 min', '59 min', '1 h', '1 h 1 min', '1 d', '1 d 1 h'])
  })
})
