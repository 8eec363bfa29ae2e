/**
 * Checks a built bundle against what the Espruino interpreter can run (shared/ESPRUINO.md): ES5
 * syntax only (acorn at ecmaVersion 5), no reference to a global or member Espruino lacks, and no
 * regular expression: Espruino's own engine parses what V8 does and then matches differently (on
 * 2v29 `/^\d{1,3}$/` and `/^\d\d?$/` do not match "42"), so a stand-in running V8 cannot vouch
 * for one.
 * Node-side: used by build.ts to refuse a bad bundle and by the bundle test.
 *
 * Names are matched syntactically (an identifier read as a value, a `Global.member` access), not by
 * scope: the bundle is minified, so its own locals have short names that cannot collide with these.
 */
import { parse, type Node } from 'acorn';
import { ancestor } from 'acorn-walk';

/** Globals that Espruino does not have (or, for Buffer/globalThis, that only Node has). */
export const MISSING_GLOBALS = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Reflect', 'Proxy', 'Buffer', 'globalThis'];

/** Static members that Espruino's built-in objects lack. */
export const MISSING_MEMBERS: Record<string, string[]> = {
  Array: ['from', 'of'],
  Number: ['isNaN', 'isInteger', 'isFinite', 'isSafeInteger', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER'],
  Math: ['trunc', 'sign', 'cbrt', 'log2', 'log10', 'hypot'],
};

/** Espruino's `process` is not Node's: these are the members it has. */
export const PROCESS_MEMBERS = ['memory', 'env', 'version'];

/** Espruino's built-in modules the firmware may load. */
export const ESPRUINO_MODULES = ['dgram', 'Storage', 'Wifi', 'crypto'];

interface Identifier extends Node {
  name: string;
}
interface MemberExpression extends Node {
  object: Node;
  property: Node;
  computed: boolean;
}
interface CallExpression extends Node {
  callee: Node;
  arguments: Node[];
}
interface Literal extends Node {
  value: unknown;
  regex?: { pattern: string };
}

interface FunctionNode extends Node {
  body: Node & { body: Node[] };
}

/** A `var` statement after a `return` in the same function body: JavaScript hoists it, Espruino
 * does not, so until it runs (never) its names are the enclosing scope's. Terser emits this when it
 * inlines a function with locals into an expression. */
function varAfterReturn(fn: FunctionNode, problems: string[]): void {
  let returned = false;
  for (const statement of fn.body.body) {
    if (statement.type === 'ReturnStatement') returned = true;
    else if (returned && statement.type === 'VariableDeclaration') problems.push(`var declared after a return (Espruino does not hoist it) at offset ${statement.start}`);
  }
}

function nameOf(node: Node): string | null {
  return node.type === 'Identifier' ? (node as Identifier).name : null;
}

/** Every problem found, each naming the construct and its offset; empty when the code can run. */
export function espruinoProblems(code: string): string[] {
  let ast: Node;
  try {
    ast = parse(code, { ecmaVersion: 5, sourceType: 'script' });
  } catch (err) {
    return ['not ES5: ' + (err instanceof Error ? err.message : String(err))];
  }
  const problems: string[] = [];
  ancestor(ast, {
    Identifier(node, _state, ancestors) {
      const name = (node as Identifier).name;
      if (MISSING_GLOBALS.includes(name)) problems.push(`${name} (missing on Espruino) at offset ${node.start}`);
      if (name === 'RegExp') problems.push(`RegExp (Espruino's matches differently from V8's) at offset ${node.start}`);
      const parent = ancestors[ancestors.length - 2] as MemberExpression | undefined;
      if (name === 'process' && !(parent && parent.type === 'MemberExpression' && parent.object === node)) {
        problems.push(`process used as a value (only process.${PROCESS_MEMBERS.join('/')} exist) at offset ${node.start}`);
      }
    },
    MemberExpression(node) {
      const member = node as MemberExpression;
      const object = nameOf(member.object);
      const property = member.computed ? null : nameOf(member.property);
      if (object === null) return;
      if (object === 'process' && (property === null || !PROCESS_MEMBERS.includes(property))) {
        problems.push(`process.${property ?? '[computed]'} (Espruino's process has only ${PROCESS_MEMBERS.join(', ')}) at offset ${node.start}`);
      }
      const missing = MISSING_MEMBERS[object];
      if (missing && property !== null && missing.includes(property)) {
        problems.push(`${object}.${property} (missing on Espruino) at offset ${node.start}`);
      }
    },
    FunctionDeclaration(node) {
      varAfterReturn(node as FunctionNode, problems);
    },
    FunctionExpression(node) {
      varAfterReturn(node as FunctionNode, problems);
    },
    Literal(node) {
      const regex = (node as Literal).regex;
      if (regex) problems.push(`regular expression /${regex.pattern}/ (Espruino's RegExp matches differently from V8's) at offset ${node.start}`);
    },
    CallExpression(node) {
      const call = node as CallExpression;
      if (nameOf(call.callee) !== 'require') return;
      const arg = call.arguments[0] as Literal | undefined;
      if (!arg || arg.type !== 'Literal' || typeof arg.value !== 'string' || !ESPRUINO_MODULES.includes(arg.value)) {
        const what = arg && arg.type === 'Literal' ? JSON.stringify(arg.value) : 'a computed name';
        problems.push(`require of ${what} (only Espruino's ${ESPRUINO_MODULES.join(', ')}) at offset ${node.start}`);
      }
    },
  });
  return problems;
}
