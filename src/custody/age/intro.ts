/**
 * The age v1 version line (age-encryption.org/v1), alone in a module of its
 * own: telling an encrypted bundle from a plain one (bundle/age-sniff.ts)
 * needs only this line, not the header codec and its base64 library.
 */
export const INTRO = 'age-encryption.org/v1';
