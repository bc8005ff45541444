// JSON for people and programs: 64-bit integers (bigint) become decimal strings (docs/DOMAIN.md section 5).

/** Serialises a value to JSON with every bigint as a decimal string. */
export function toJson (value: unknown, indent = 2): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent)
}
