/** A value as it is cached: what JSON.stringify writes and JSON.parse gives back. */
export type JsonValue =
  | string | number | boolean | null
  | JsonValue[]
  | { [key: string]: JsonValue }

export type JsonRow = Record<string, JsonValue>

/** An integer in decimal text: a number while it is exact in a double, else its digits. */
export function integerFromText (text: string): number | string {
  const value = Number(text)
  return Number.isSafeInteger(value) ? value : text
}

/**
 * A decimal in text: a number when that number prints back as the same decimal value,
 * else the exact text, so that no digit of a price or a total is ever rounded away.
 */
export function decimalFromText (text: string): number | string {
  const value = Number(text)
  if (!Number.isFinite(value) || text.trim() === '') return text
  return canonicalDecimal(text) === canonicalDecimal(String(value)) ? value : text
}

/** A float: a number, or the strings "NaN", "Infinity" and "-Infinity" JSON cannot hold. */
export function floatFromValue (value: number): number | string {
  return Number.isFinite(value) ? value : String(value)
}

/**
 * Writes a decimal without exponent, leading or trailing zeros, so that two spellings of
 * one value compare equal: "010.50" and "1.05e1" both give "10.5".
 */
export function canonicalDecimal (text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text.trim())
  if (match === null) return text

  const [, sign, whole = '', fraction = '', exponent = '0'] = match
  let digits = whole + fraction
  let point = whole.length + Number(exponent)
  if (point < 0) {
    digits = '0'.repeat(-point) + digits
    point = 0
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length)

  const intPart = digits.slice(0, point).replace(/^0+/, '') || '0'
  const fracPart = digits.slice(point).replace(/0+$/, '')
  const body = fracPart === '' ? intPart : `${intPart}.${fracPart}`
  return body === '0' || sign !== '-' ? body : `-${body}`
}

/**
 * Gives every column a key, even when a query names two columns alike: the second
 * `count` becomes `count_2`, so that no value is dropped silently.
 */
export function uniqueColumnNames (names: readonly string[]): string[] {
  const taken = new Set<string>()
  return names.map((name) => {
    let candidate = name
    for (let n = 2; taken.has(candidate); n++) candidate = `${name}_${n}`
    taken.add(candidate)
    return candidate
  })
}

const JSON_NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/**
 * Parses JSON text, keeping every number that a double cannot hold exactly as a string
 * of its exact digits (the rule integers and decimals follow), where JSON.parse would
 * round it silently: `{"id": 12345678901234567890}` keeps all its digits.
 */
export function parseJsonExact (text: string): JsonValue {
  let out = ''
  let copied = 0

  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (char === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
      continue
    }
    if (char !== '-' && (char < '0' || char > '9')) continue

    JSON_NUMBER.lastIndex = i
    const token = JSON_NUMBER.exec(text)?.[0] ?? char
    if (typeof decimalFromText(token) === 'string') {
      out += `${text.slice(copied, i)}"${token}"`
      copied = i + token.length
    }
    i += token.length - 1
  }
  return JSON.parse(copied === 0 ? text : out + text.slice(copied)) as JsonValue
}
