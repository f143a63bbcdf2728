/**
 * The shape of an EWF image's media (sector size and count, chunk size and
 * count, compression, media type) as custody reports it: in `hash` output,
 * in `--json`, and in a sealed item's custody/manifest.json. One builder, so
 * that the object hashing computes, the object seal records and the object a
 * bundle reader accepts cannot drift apart field by field — a field dropped
 * in one of them would silently vanish from the record a court reads.
 * Pure: no `node:` imports (the bundle reader runs in the verifier page).
 */
import type { EwfVolume } from './format.js';

export interface EwfGeometry {
  bytesPerSector: number;
  sectorCount: number;
  /** Bytes past the last whole sector (kept by ewfacquire when the source is not a whole number of sectors). */
  tailBytes: number;
  chunkSize: number;
  sectorsPerChunk: number;
  chunkCount: number;
  compression?: string;
  mediaType?: string;
  physical?: boolean;
}

/** The fields every geometry has, in the order they are written. */
export const GEOMETRY_COUNTS = ['bytesPerSector', 'sectorCount', 'tailBytes', 'chunkSize', 'sectorsPerChunk', 'chunkCount'] as const;
/** The fields a geometry may lack (an image whose volume section does not say). */
export const GEOMETRY_OPTIONAL = ['compression', 'mediaType', 'physical'] as const;

/** The geometry fields of `s` (and nothing else), in the fixed order; optional fields only when present. */
export function geometryOf(s: EwfGeometry): EwfGeometry {
  const g: EwfGeometry = {
    bytesPerSector: s.bytesPerSector,
    sectorCount: s.sectorCount,
    tailBytes: s.tailBytes,
    chunkSize: s.chunkSize,
    sectorsPerChunk: s.sectorsPerChunk,
    chunkCount: s.chunkCount,
  };
  if (s.compression !== undefined) g.compression = s.compression;
  if (s.mediaType !== undefined) g.mediaType = s.mediaType;
  if (s.physical !== undefined) g.physical = s.physical;
  return g;
}

/** The geometry a volume section declares, with what only the walk over the image knows. */
export function volumeGeometry(v: EwfVolume, found: { chunkCount: number; tailBytes: number }): EwfGeometry {
  return geometryOf({ ...v, chunkSize: v.sectorsPerChunk * v.bytesPerSector, chunkCount: found.chunkCount, tailBytes: found.tailBytes });
}
