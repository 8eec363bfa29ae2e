/**
 * How much the core says about what it drops. On the board the bundle must fit 12 KB (issue 3) and
 * nobody reads a drop reason (the Espruino port discards it), so there the core's diagnostics are
 * short codes; in the simulator, the gateway and the tests, which run the TypeScript itself, they
 * name the input and what was expected in full.
 *
 * build.ts defines the identifier LAMPNET_BOARD as `true` for the board bundle only; everywhere else
 * it is undeclared, which `typeof` reads safely. The minifier folds BRIEF to a constant and drops the
 * long messages from the bundle.
 */
declare const LAMPNET_BOARD: boolean | undefined;

export const BRIEF: boolean = typeof LAMPNET_BOARD !== 'undefined' && LAMPNET_BOARD;
