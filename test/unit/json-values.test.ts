import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalDecimal, decimalFromText, integerFromText, parseJsonExact, uniqueColumnNames }
  from
  '../../src/metrics/json-values.js'

test('should keep integers beyond 2^53 - 1 as their exact digits', () => {
  assert.equal(integerFromText('9007199254740991'), 9007199254740991)
  assert.equal(integerFromText('9007199254740993'), '9007199254740993')
  assert.equal(integerFromText('-9223372036854775808'), '-9223372036854775808')
})

test('should give a decimal as a number only when the number is exact', () => {
  assert.equal(decimalFromText('10.50'), 10.5)
  assert.equal(decimalFromText('0.1'), 0.1)
  assert.equal(decimalFromText('-0.000001'), -0.000001)
  assert.equal(decimalFromText('12345678901234567890.12'), '12345678901234567890.12')
  assert.equal(decimalFromText('0.12345678901234567890123'), '0.12345678901234567890123')
  assert.equal(decimalFromText('NaN'), 'NaN')
})

test('should compare decimals by value, whatever their spelling', () => {
  assert.equal(canonicalDecimal('010.500'), '10.5')
  assert.equal(canonicalDecimal('1.05e1'), '10.5')
  assert.equal(canonicalDecimal('1e-7'), '0.0000001')
  assert.equal(canonicalDecimal('-0.0'), '0')
})

test('should suffix repeated column names instead of dropping a value', () => {
  assert.deepEqual(uniqueColumnNames(['count', 'count', 'n', 'count']),
    ['count', 'count_2', 'n', 'count_3'])
  assert.deepEqual(uniqueColumnNames(['a', 'a_2', 'a']), ['a', 'a_2', 'a_3'])
})

test('should parse JSON keeping numbers a double cannot hold as exact strings', () => {
  assert.deepEqual(parseJsonExact('{"id": 12345678901234567890, "n": [1, -2.5, 1e400]}'),
    { id: '12345678901234567890', n: [1, -2.5, '1e400'] })
  assert.deepEqual(parseJsonExact('{"s": "12345678901234567890 \\" 9007199254740993"}'),
    { s: '12345678901234567890 " 9007199254740993' })
  assert.deepEqual(parseJsonExact('-9007199254740993'), '-9007199254740993')
  assert.deepEqual(parseJsonExact('[true, null, 0.1, 9007199254740991]'),
    [true, null, 0.1, 9007199254740991])
})
