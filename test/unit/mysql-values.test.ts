import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mysqlJsonValue } from '../../src/metrics/mysql-values.js'

const TINY = 1
const FLOAT = 4
const TIMESTAMP = 7
const LONGLONG = 8
const DATETIME = 12
const BIT = 16
const BLOB = 252

test('should keep a zero date as the server wrote it instead of inventing an instant', () => {
  assert.equal(mysqlJsonValue({ columnType: DATETIME }, '0000-00-00 00:00:00'),
    '0000-00-00 00:00:00')
  assert.equal(mysqlJsonValue({ columnType: TIMESTAMP }, '0000-00-00 00:00:00'),
    '0000-00-00 00:00:00')
  assert.equal(mysqlJsonValue({ columnType: TIMESTAMP }, '2026-01-02 03:04:05'),
    '2026-01-02T03:04:05Z')
})

test('should read TINYINT(1) as a boolean and wider TINYINT as a number', () => {
  assert.equal(mysqlJsonValue({ columnType: TINY, columnLength: 1 }, 2), true)
  assert.equal(mysqlJsonValue({ columnType: TINY, columnLength: 1 }, 0), false)
  assert.equal(mysqlJsonValue({ columnType: TINY, columnLength: 4 }, 1), 1)
})

test('should keep a BIGINT beyond 2^53 - 1 and a wide BIT as exact digits', () => {
  assert.equal(mysqlJsonValue({ columnType: LONGLONG }, '-9223372036854775808'),
    '-9223372036854775808')
  assert.equal(mysqlJsonValue({ columnType: BIT }, Buffer.from('ffffffffffffffff', 'hex')),
    '18446744073709551615')
})

test('should write non-finite floats as strings and bytes as base64', () => {
  assert.equal(mysqlJsonValue({ columnType: FLOAT }, Number.NaN), 'NaN')
  assert.equal(mysqlJsonValue({ columnType: BLOB, characterSet: 63 }, Buffer.from([1, 2])),
    'AQI=')
  assert.equal(mysqlJsonValue({ columnType: BLOB }, null), null)
})
