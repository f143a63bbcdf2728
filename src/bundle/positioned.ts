/**
 * Which payload members pieces mode hashes at their offset in the bundle
 * file (the piece lanes' positioned reads) and which on the reading thread
 * from the bytes the tar reader holds anyway: one rule for the strict reader
 * (read-bundle.ts) and the look-ahead that queues pieces before it runs
 * (payload-prefetch.ts), so that the look-ahead guesses the ranges the
 * reader will ask for. A small member costs less hashed where it is than a
 * round trip to a lane.
 */
export const SMALL_MEMBER_BYTES = 256 << 10;
