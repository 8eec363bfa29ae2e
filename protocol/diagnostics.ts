/**
 * How much the lamp core and the protocol code it bundles say about what they drop or refuse. On the
 * board every byte of the bundle counts and nobody reads a drop reason (the Espruino port discards
 * it), so there the reasons are short codes; in the simulator, the gateway and the tests, which run
 * the TypeScript itself, they name the input and what was expected in full.
 *
 * The firmware build defines the identifier LAMPNET_BOARD as `true` for the board bundle only;
 * everywhere else it is undeclared, which `typeof` reads safely. The minifier folds BRIEF to a
 * constant and drops the long messages from the bundle.
 */
declare const LAMPNET_BOARD: boolean | undefined;

export const BRIEF: boolean = typeof LAMPNET_BOARD !== 'undefined' && LAMPNET_BOARD;
