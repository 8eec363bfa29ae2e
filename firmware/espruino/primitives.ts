/**
 * The board's AES-128 block and SHA-256 as OSCORE's primitives (protocol/oscore/crypto.ts):
 * Espruino's `require('crypto')` has both and nothing more (shared/espruino/README.md); it takes
 * typed arrays and returns ArrayBuffers.
 */
import type { Primitives } from '../../protocol/oscore/crypto.js';

declare function require(module: 'crypto'): {
  AES: { encrypt(data: Uint8Array, key: Uint8Array, options: { mode: string }): ArrayBuffer };
  SHA256(data: Uint8Array): ArrayBuffer;
};

export function espruinoPrimitives(): Primitives {
  const c = require('crypto');
  return {
    aes: function (key, block) {
      return new Uint8Array(c.AES.encrypt(block, key, { mode: 'ECB' }));
    },
    sha256: function (data) {
      return new Uint8Array(c.SHA256(data));
    },
  };
}
