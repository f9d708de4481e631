import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { timestamptzToUtcIso } from '../../src/metrics/pg-values.js'

const MIN_SECONDS = Date.UTC(1, 0, 1) / 1000 + 86400 * 366 // year 0001 less one day's slack
const MAX_SECONDS = Date.UTC(9999, 11, 30) / 1000

/** `date` as PostgreSQL writes a timestamptz in a zone `offsetMinutes` east of UTC. */
function pgText (seconds: number, offsetMinutes: number): string {
  const local = new Date((seconds + offsetMinutes * 60) * 1000).toISOString().slice(0, 19)
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  const hh = String(Math.floor(abs / 60)).padStart(2, '0')
  const mm = String(abs % 60).padStart(2, '0')
  return `${local.replace('T', ' ')}${sign}${hh}${mm === '00' ? '' : `:${mm}`}`
}

test('should turn any timestamptz text back into its UTC instant', () => {
  fc.assert(fc.property(fc.integer({ min: MIN_SECONDS, max: MAX_SECONDS }),
    fc.integer({ min: -15 * 60, max: 15 * 60 }), (seconds, offset) => {
      const expected = `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`
      assert.equal(timestamptzToUtcIso(pgText(seconds, offset)), expected)
    }), { numRuns: 2000 })
})

test('should keep years before 100 and after 9999 as they are', () => {
  assert.equal(timestamptzToUtcIso('0050-06-01 00:00:00+00'), '0050-06-01T00:00:00Z')
  assert.equal(timestamptzToUtcIso('0001-01-01 01:00:00+02'), '0000-12-31T23:00:00Z')
  assert.equal(timestamptzToUtcIso('12026-01-01 10:00:00.5+00'), '12026-01-01T10:00:00.5Z')
})

test('should keep every fractional digit and PostgreSQL words it cannot convert', () => {
  assert.equal(timestamptzToUtcIso('2026-12-03 17:00:00.123456+01'),
    '2026-12-03T16:00:00.123456Z')
  assert.equal(timestamptzToUtcIso('1850-01-01 04:07:02-07:52:58'), '1850-01-01T12:00:00Z')
  assert.equal(timestamptzToUtcIso('infinity'), 'infinity')
  assert.equal(timestamptzToUtcIso('2026-01-01 00:00:00+00 BC'), '2026-01-01 00:00:00+00 BC')
})
