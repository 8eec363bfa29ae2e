/** Bundled by oscore-espruino.test.ts through the board's build and run on the Espruino
 * interpreter, with the board's own AES and SHA-256: prints the OSCORE vectors and refusals as one
 * JSON line. */
import { espruinoPrimitives } from '../../firmware/espruino/primitives.js';
import { usePrimitives } from '../../protocol/oscore/crypto.js';
import { oscoreRefusals, oscoreVectors } from './oscore-vectors.js';

usePrimitives(espruinoPrimitives());
console.log('OSCORE ' + JSON.stringify({ vectors: oscoreVectors(), refusals: oscoreRefusals() }));
