/** Bundled by lwm2m-espruino.test.ts through the board's build and run on the Espruino interpreter:
 * prints the LwM2M vectors as one JSON line. */
import { lwm2mVectors } from './lwm2m-vectors.js';

console.log('LWM2M ' + JSON.stringify(lwm2mVectors()));
