// Merges the profiles of several threads into one pprof profile: string tables, mappings, functions
// and locations are remapped into one table each (the same function on two threads is one function),
// and every sample gets a `thread` label ("main", "worker-<threadId>") so pprof can split them
// (`-tagfocus thread=main`, `-tags`).
import { Function as PprofFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format'

/** A profile and the thread it was taken on. */
export interface ThreadProfile {
  readonly thread: string
  readonly profile: Profile
}

/** The label key naming a sample's thread. */
export const THREAD_LABEL = 'thread'

/**
 * One profile holding the samples of every part, each labelled with its thread; `lost` names threads
 * whose part is missing (said in the profile's comments). Parts must share the first part's sample
 * types; one that does not is left out and named in the comments.
 */
export function mergeThreadProfiles (parts: readonly ThreadProfile[], lost: readonly string[] = []): Profile {
  if (parts.length === 0) throw new Error('no profile to merge')
  const strings = new StringTable()
  const first = parts[0].profile
  const str = (profile: Profile, index: number | bigint): number => strings.dedup(profile.stringTable.strings[Number(index)] ?? '')
  const valueType = (profile: Profile, v: ValueType): ValueType => new ValueType({ type: str(profile, v.type), unit: str(profile, v.unit) })
  const typesOf = (profile: Profile): string => profile.sampleType.map(v => `${profile.stringTable.strings[Number(v.type)]}/${profile.stringTable.strings[Number(v.unit)]}`).join(',')

  const merged = new Profile({
    stringTable: strings,
    sampleType: first.sampleType.map(v => valueType(first, v)),
    periodType: first.periodType ? valueType(first, first.periodType) : undefined,
    period: first.period,
    defaultSampleType: Number(first.defaultSampleType) === 0 ? 0 : str(first, first.defaultSampleType),
  })
  const functions = new Map<string, number>()
  const locations = new Map<string, number>()
  const comments: string[] = []
  let start = Infinity
  let end = 0

  for (const { thread, profile } of parts) {
    if (typesOf(profile) !== typesOf(first)) {
      comments.push(`${thread} left out: its sample types (${typesOf(profile)}) are not ${typesOf(first)}`)
      continue
    }
    comments.push(`thread ${thread}: ${profile.sample.length} samples`)
    // a heap profile is a moment (no duration); a CPU profile covers a span
    const time = Number(profile.timeNanos)
    if (time > 0) start = Math.min(start, time)
    if (time > 0 && Number(profile.durationNanos) > 0) end = Math.max(end, time + Number(profile.durationNanos))
    const mappingIds = new Map<number, number>()
    for (const m of profile.mapping) {
      const id = merged.mapping.length + 1
      mappingIds.set(Number(m.id), id)
      merged.mapping.push(new Mapping({
        id, memoryStart: m.memoryStart, memoryLimit: m.memoryLimit, fileOffset: m.fileOffset,
        filename: str(profile, m.filename), buildId: str(profile, m.buildId),
        hasFunctions: m.hasFunctions, hasFilenames: m.hasFilenames, hasLineNumbers: m.hasLineNumbers, hasInlineFrames: m.hasInlineFrames,
      }))
    }
    const functionIds = new Map<number, number>()
    for (const f of profile.function) {
      const name = str(profile, f.name)
      const systemName = str(profile, f.systemName)
      const filename = str(profile, f.filename)
      const key = `${name}:${systemName}:${filename}:${f.startLine}`
      let id = functions.get(key)
      if (id === undefined) {
        id = merged.function.length + 1
        functions.set(key, id)
        merged.function.push(new PprofFunction({ id, name, systemName, filename, startLine: f.startLine }))
      }
      functionIds.set(Number(f.id), id)
    }
    const locationIds = new Map<number, number>()
    for (const l of profile.location) {
      const mappingId = mappingIds.get(Number(l.mappingId)) ?? 0
      const lines = l.line.map(line => new Line({ functionId: functionIds.get(Number(line.functionId)) ?? 0, line: line.line, column: line.column }))
      const key = `${mappingId}:${l.address}:${l.isFolded}:${lines.map(line => `${line.functionId}@${line.line}:${line.column}`).join(',')}`
      let id = locations.get(key)
      if (id === undefined) {
        id = merged.location.length + 1
        locations.set(key, id)
        merged.location.push(new Location({ id, mappingId, address: l.address, line: lines, isFolded: l.isFolded }))
      }
      locationIds.set(Number(l.id), id)
    }
    const threadLabel = new Label({ key: strings.dedup(THREAD_LABEL), str: strings.dedup(thread) })
    for (const s of profile.sample) {
      merged.sample.push(new Sample({
        locationId: s.locationId.map(id => locationIds.get(Number(id)) ?? 0),
        value: s.value,
        label: [threadLabel, ...s.label.map(l => new Label({ key: str(profile, l.key), str: Number(l.str) === 0 ? 0 : str(profile, l.str), num: l.num, numUnit: Number(l.numUnit) === 0 ? 0 : str(profile, l.numUnit) }))],
      }))
    }
  }
  for (const thread of lost) comments.push(`thread ${thread}: lost (it exited or did not answer in time)`)
  merged.comment = comments.map(c => strings.dedup(c))
  if (start < Infinity) merged.timeNanos = start
  if (end > 0) merged.durationNanos = end - start
  return merged
}
