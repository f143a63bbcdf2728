/** Types for bcrypt-pbkdf 1.x (OpenBSD's bcrypt_pbkdf, as OpenSSH uses it for encrypted private keys). */
declare module 'bcrypt-pbkdf' {
  const bcryptPbkdf: {
    pbkdf(pass: Uint8Array, passlen: number, salt: Uint8Array, saltlen: number, key: Uint8Array, keylen: number, rounds: number): number;
  };
  export default bcryptPbkdf;
}
