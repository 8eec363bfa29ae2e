/**
 * Node's AES-128 block and SHA-256 as OSCORE's primitives (crypto.ts), for the gateway, the
 * simulator and the tests. Never bundled for a board: firmware/espruino/hal.ts gives the board's.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { Primitives } from './crypto.js';

export const nodePrimitives: Primitives = {
  aes(key, block) {
    const c = createCipheriv('aes-128-ecb', key, null);
    c.setAutoPadding(false);
    return new Uint8Array(c.update(block));
  },
  sha256(data) {
    return new Uint8Array(createHash('sha256').update(data).digest());
  },
};
