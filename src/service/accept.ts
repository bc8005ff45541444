// Content negotiation for POST /compact: the request chooses the response format, never the number
// of files that come out. A tar stream unless the client asks for one parquet file.
import { CompactorError } from '../errors.ts'

export const TAR = 'application/x-tar'
export const PARQUET = 'application/vnd.apache.parquet'

export type StreamFormat = 'tar' | 'parquet'

/**
 * The format an Accept header asks for: the higher quality of tar and parquet, tar on a tie unless
 * parquet is named and tar only matched a wildcard. Throws 406 when neither is acceptable.
 */
export function chooseFormat (accept: string | undefined): StreamFormat {
  if (accept === undefined || accept.trim() === '') return 'tar'
  const tar = quality(accept, TAR)
  const parquet = quality(accept, PARQUET)
  if (tar.q === 0 && parquet.q === 0) throw new CompactorError('CMP_ERR_NOT_ACCEPTABLE', `Accept: ${accept.slice(0, 200)}`, { accept: accept.slice(0, 200) })
  if (parquet.q > tar.q || (parquet.q === tar.q && parquet.specificity > tar.specificity)) return 'parquet'
  return 'tar'
}

/** The quality an Accept header gives a media type, and how specific the range that matched it was (0-2). */
function quality (accept: string, mediaType: string): { q: number, specificity: number } {
  const [type] = mediaType.split('/')
  let best = { q: 0, specificity: -1 }
  for (const item of accept.split(',')) {
    const [range, ...params] = item.trim().toLowerCase().split(';').map(s => s.trim())
    const specificity = range === mediaType ? 2 : range === `${type}/*` ? 1 : range === '*/*' ? 0 : -1
    if (specificity < best.specificity || specificity < 0) continue
    const qParam = params.find(p => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    best = { q: Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0, specificity }
  }
  return best
}
