// Merging the profiles of several threads: one string table, one function per function, every
// sample labelled with its thread, lost threads and mismatched parts named in the comments.
import t from 'tap'
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format'
import { mergeThreadProfiles } from '../../src/debug/merge-profiles.ts'

/** A profile of `stacks` (leaf first, function names), one sample each with value [1, nanos]; optional labels per sample. */
function profileOf (stacks: string[][], nanos: number, types: [string, string][] = [['sample', 'count'], ['wall', 'nanoseconds']], timeNanos = 1000): Profile {
  const strings = new StringTable()
  const p = new Profile({ stringTable: strings, sampleType: types.map(([type, unit]) => new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) })), timeNanos, durationNanos: 500 })
  // ids deliberately not 1..n, to show they are remapped
  const fn = new Map<string, number>()
  for (const name of new Set(stacks.flat())) {
    const id = 100 + fn.size
    fn.set(name, id)
    p.function.push(new PprofFunction({ id, name: strings.dedup(name), filename: strings.dedup(`/src/${name}.ts`) }))
    p.location.push(new Location({ id: 200 + fn.size, line: [new Line({ functionId: id, line: 7 })] }))
  }
  const locationOf = (name: string): number => Number(p.location.find(l => Number(l.line[0].functionId) === fn.get(name))!.id)
  for (const stack of stacks) {
    p.sample.push(new Sample({ locationId: stack.map(locationOf), value: [1, nanos], label: [new Label({ key: strings.dedup('span'), str: strings.dedup('x') })] }))
  }
  return p
}

const text = (p: Profile, i: number | bigint): string => p.stringTable.strings[Number(i)]

/** Each sample as `thread: leaf<-caller (values)`, read back through the merged tables. */
function samples (p: Profile): string[] {
  return p.sample.map(s => {
    const frames = s.locationId.map(id => {
      const location = p.location.find(l => Number(l.id) === Number(id))!
      const f = p.function.find(f => Number(f.id) === Number(location.line[0].functionId))!
      return `${text(p, f.name)}@${text(p, f.filename)}`
    })
    const labels = s.label.map(l => `${text(p, l.key)}=${text(p, l.str)}`)
    return `${labels.join(',')}: ${frames.join('<-')} (${s.value.join(',')})`
  }).sort()
}

t.test('samples of every thread are kept, read through one set of tables, each labelled with its thread', async t => {
  const main = profileOf([['serve', 'main']], 10)
  const worker = profileOf([['step', 'compact'], ['add', 'compact']], 20, undefined, 900)
  const merged = Profile.decode(mergeThreadProfiles([{ thread: 'main', profile: main }, { thread: 'worker-3', profile: worker }]).encode())
  t.same(samples(merged), [
    'thread=main,span=x: serve@/src/serve.ts<-main@/src/main.ts (1,10)',
    'thread=worker-3,span=x: add@/src/add.ts<-compact@/src/compact.ts (1,20)',
    'thread=worker-3,span=x: step@/src/step.ts<-compact@/src/compact.ts (1,20)',
  ])
  t.same(merged.sampleType.map(v => `${text(merged, v.type)}/${text(merged, v.unit)}`), ['sample/count', 'wall/nanoseconds'])
  t.equal(Number(merged.timeNanos), 900, 'starts with the earliest part')
  t.equal(Number(merged.durationNanos), 600, 'ends with the latest part')
})

t.test('profiles of a moment (heap: no duration) merge into a moment, at the earliest', async t => {
  const heapLike = (timeNanos: number): Profile => {
    const p = profileOf([['alloc']], 1, [['inuse_objects', 'count'], ['inuse_space', 'bytes']], timeNanos)
    p.durationNanos = 0
    return p
  }
  const merged = mergeThreadProfiles([{ thread: 'main', profile: heapLike(2000) }, { thread: 'worker-1', profile: heapLike(1500) }])
  t.equal(Number(merged.timeNanos), 1500)
  t.equal(Number(merged.durationNanos), 0)
})

t.test('a function on two threads is one function and one location', async t => {
  const merged = mergeThreadProfiles([
    { thread: 'worker-1', profile: profileOf([['step', 'compact']], 1) },
    { thread: 'worker-2', profile: profileOf([['step', 'compact']], 1) },
  ])
  t.equal(merged.function.length, 2)
  t.equal(merged.location.length, 2)
  t.equal(merged.sample.length, 2)
  t.same(merged.function.map(f => Number(f.id)), [1, 2], 'ids renumbered from 1')
})

t.test('lost threads and parts with other sample types are named in the comments, not merged', async t => {
  const heapLike = profileOf([['alloc']], 1, [['inuse_objects', 'count'], ['inuse_space', 'bytes']])
  const merged = mergeThreadProfiles([
    { thread: 'main', profile: profileOf([['serve']], 1) },
    { thread: 'worker-2', profile: heapLike },
  ], ['worker-9'])
  t.equal(merged.sample.length, 1)
  const comments = merged.comment.map(c => text(merged, c))
  t.same(comments, [
    'thread main: 1 samples',
    'worker-2 left out: its sample types (inuse_objects/count,inuse_space/bytes) are not sample/count,wall/nanoseconds',
    'thread worker-9: lost (it exited or did not answer in time)',
  ])
})

t.test('no part at all is an error', async t => {
  t.throws(() => mergeThreadProfiles([]), /no profile/)
})
