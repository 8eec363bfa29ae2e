/**
 * The cryptography OSCORE needs (RFC 8613 §3.2, §5.4), built from two primitives every platform has:
 * AES-128 of one block and SHA-256. A board's Espruino has exactly these (`require('crypto')`:
 * AES ECB and SHA256, no HMAC, no CCM: shared/espruino/README.md), Node's crypto has them too, so
 * the lamp and the gateway run this same code over their own primitives (`usePrimitives`).
 *
 *   HMAC-SHA-256  RFC 2104         HKDF-SHA-256  RFC 5869 (one output block: L ≤ 32)
 *   AES-CCM-16-64-128  RFC 3610 / COSE alg 10: 13-byte nonce, 8-byte tag, 2-byte length field
 *
 * Firmware rule: ES5-lowerable, no Node import (the Node primitives are in node-primitives.ts).
 */

/** The platform's primitives: AES-128 encryption of one 16-byte block, and SHA-256 of any bytes.
 * Both return fresh arrays. */
export interface Primitives {
  aes(key: Uint8Array, block: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
}

let prim: Primitives;

/** Installs the platform's primitives; every platform calls it once before any OSCORE use. */
export function usePrimitives(p: Primitives): void {
  prim = p;
}

export const KEY_LEN = 16;
export const NONCE_LEN = 13;
export const TAG_LEN = 8;

/** a followed by b, in a new array. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** HMAC-SHA-256 (RFC 2104) of data under key. */
export function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length > 64) key = prim.sha256(key);
  const pad = new Uint8Array(64);
  for (let i = 0; i < 64; i++) pad[i] = (key[i] | 0) ^ 0x36;
  const inner = prim.sha256(concat(pad, data));
  for (let i = 0; i < 64; i++) pad[i] ^= 0x36 ^ 0x5c;
  return prim.sha256(concat(pad, inner));
}

/** HKDF-SHA-256 (RFC 5869): `len` (≤ 32) bytes from ikm, salt and info. An empty salt is HMAC's
 * zero key, as the RFC says. */
export function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, len: number): Uint8Array {
  const prk = hmac(salt, ikm);
  const t = new Uint8Array(info.length + 1);
  t.set(info, 0);
  t[info.length] = 1;
  return hmac(prk, t).subarray(0, len);
}

/** x ^= src[off..off+16) (zero past `end`), then x = AES(key, x): one CBC-MAC step. */
function macBlock(key: Uint8Array, x: Uint8Array, src: Uint8Array, off: number, end: number): Uint8Array {
  for (let i = 0; i < 16 && off + i < end; i++) x[i] ^= src[off + i];
  return prim.aes(key, x);
}

/** The CCM authentication tag (RFC 3610 §2.2), before encryption with S_0: CBC-MAC over B_0, the
 * encoded AAD and the plaintext. */
function ccmMac(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, off: number, len: number): Uint8Array {
  let x: Uint8Array = new Uint8Array(16);
  // B_0: flags (Adata, M' = (8-2)/2, L' = 2-1), nonce, message length.
  x[0] = (aad.length ? 0x40 : 0) | (((TAG_LEN - 2) / 2) << 3) | 1;
  x.set(nonce, 1);
  x[14] = len >> 8;
  x[15] = len & 255;
  x = prim.aes(key, x);
  if (aad.length) {
    // The AAD with its 2-byte length in front (lengths below 0xff00), zero-padded to blocks.
    const a = new Uint8Array(2 + aad.length);
    a[0] = aad.length >> 8;
    a[1] = aad.length & 255;
    a.set(aad, 2);
    for (let p = 0; p < a.length; p += 16) x = macBlock(key, x, a, p, a.length);
  }
  for (let p = off; p < off + len; p += 16) x = macBlock(key, x, plain, p, off + len);
  return x;
}

/** XORs src[off..off+len) with the CCM key stream S_1, S_2... (and the 8-byte tag at dst[dOff+len]
 * with S_0 when `tag` is given) into dst at dOff. */
function ccmCtr(key: Uint8Array, nonce: Uint8Array, src: Uint8Array, off: number, len: number, dst: Uint8Array, dOff: number, tag: Uint8Array | null): void {
  const a = new Uint8Array(16);
  a[0] = 1;
  a.set(nonce, 1);
  for (let i = 0; i * 16 < len + 16; i++) {
    a[14] = i >> 8;
    a[15] = i & 255;
    const s = prim.aes(key, a);
    if (!i) {
      if (tag) for (let k = 0; k < TAG_LEN; k++) dst[dOff + len + k] = tag[k] ^ s[k];
      continue;
    }
    for (let k = 0; k < 16 && (i - 1) * 16 + k < len; k++) dst[dOff + (i - 1) * 16 + k] = src[off + (i - 1) * 16 + k] ^ s[k];
  }
}

/** AES-CCM-16-64-128 encryption of plain[off..off+len) into dst at dOff: len bytes of ciphertext
 * then the 8-byte tag. dst may be plain itself at the same offset. */
export function ccmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, off: number, len: number, dst: Uint8Array, dOff: number): void {
  const tag = ccmMac(key, nonce, aad, plain, off, len);
  ccmCtr(key, nonce, plain, off, len, dst, dOff, tag);
}

/** AES-CCM-16-64-128 decryption of sealed[off..off+len) (ciphertext then tag) into dst at dOff
 * (len - 8 bytes). Returns whether the tag verified; when it did not, dst holds garbage that must
 * not be used. */
export function ccmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, off: number, len: number, dst: Uint8Array, dOff: number): boolean {
  const n = len - TAG_LEN;
  if (n < 0) return false;
  ccmCtr(key, nonce, sealed, off, n, dst, dOff, null);
  const tag = ccmMac(key, nonce, aad, dst, dOff, n);
  // S_0 again, to compare the received tag without branching on its bytes.
  const a = new Uint8Array(16);
  a[0] = 1;
  a.set(nonce, 1);
  const s = prim.aes(key, a);
  let diff = 0;
  for (let k = 0; k < TAG_LEN; k++) diff |= (tag[k] ^ s[k]) ^ sealed[off + n + k];
  return diff === 0;
}
