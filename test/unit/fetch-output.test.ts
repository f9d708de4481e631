import { test } from 'node:test'
import assert from 'node:assert/strict'
import { progressReporter, reportJson, reportTable } from '../../src/fetch-output.js'
import type { RefreshReport } from '../../src/refresh.js'

const REPORT: RefreshReport = {
  ok: false,
  storeFailed: false,
  duration_ms: 52,
  results: {
    acme: { ok: true, duration_ms: 41 },
    globex: { ok: false, duration_ms: 3, error: 'Cannot connect.', error_code: 'X_FAILED' }
  }
}

test('should print a progress line for each brand as soon as it is done', () => {
  const lines: string[] = []
  const report = progressReporter(12, (text) => { lines.push(text) })

  report('acme', { ok: true, duration_ms: 41 })
  report('globex', { ok: false, duration_ms: 3, error_code: 'SOURCE_CONNECT_FAILED' })

  assert.deepEqual(lines, ['[ 1/12] acme cached in 41 ms\n',
    '[ 2/12] globex FAILED (SOURCE_CONNECT_FAILED) in 3 ms\n'])
})

test('should close with a table of every brand and a count of failures', () => {
  assert.deepEqual(reportTable(REPORT).split('\n'), [
    'brand   outcome  time   error',
    'acme    cached   41 ms',
    'globex  FAILED   3 ms   Cannot connect.',
    '1 cached, 1 failed in 52 ms',
    ''
  ])
})

test('should print JSON with the status, duration and every result', () => {
  assert.deepEqual(JSON.parse(reportJson(REPORT)), {
    status: 'error', duration_ms: 52, results: REPORT.results
  })
})
