/**
 * CoRE Link Format (RFC 6690, content format 40) as LwM2M uses it: the Register/Update payload
 * listing a client's objects and instances (LwM2M 1.1 Core §6.2.1: `</1/0>,</3/0>,</3311/0>`,
 * optionally led by the root link `</>;rt="oma.lwm2m";ct=...` or an alternate path such as
 * `</lwm2m>;rt="oma.lwm2m"` that the object paths then start with), and the Discover answer
 * (§5.4.2: `</3311/0>,</3311/0/5850>;pmin=10`).
 *
 * Building is string concatenation (`link`), for the lamp. Parsing is for the gateway: `parseLinks`
 * follows RFC 6690 §2's grammar strictly (no whitespace, quoted-string values with backslash
 * escapes, no parameter twice in one link) and `registrationObjects` reads a Register payload. Both
 * bound their work (MAX_LINK_BYTES, MAX_LINKS, MAX_LINK_PARAMS) and return an error string on
 * anything else; neither throws.
 */
import { FORMAT_SENML_JSON, FORMAT_TLV } from './formats.js';
import { parsePath } from './objects.js';

/** The resource type of an LwM2M client's root (LwM2M 1.1 Core §6.2.1). */
export const LWM2M_RT = 'oma.lwm2m';
export const MAX_LINK_BYTES = 8192;
export const MAX_LINKS = 256;
export const MAX_LINK_PARAMS = 16;

/** One link: `<path>` and `params` (the text after it, each starting with ';', or ''). */
export function link(path: string, params: string): string {
  return '<' + path + '>' + params;
}

/** The root link a 1.1 client may lead its Register payload with, naming the content formats it
 * serves: `</>;rt="oma.lwm2m";ct="110 11542"`. */
export const ROOT_LINK = '</>;rt="' + LWM2M_RT + '";ct="' + FORMAT_SENML_JSON + ' ' + FORMAT_TLV + '"';

/** A parsed link: its URI reference and its parameters by name (value null for a bare name such as
 * `obs`; a quoted value unquoted). */
export interface Link {
  path: string;
  params: Record<string, string | null>;
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** RFC 6690 parmname characters. */
function isParmChar(c: number): boolean {
  return isAlnum(c) || '!#$&+-.^_`|~'.indexOf(String.fromCharCode(c)) >= 0;
}

/** RFC 6690 ptoken characters. */
function isTokenChar(c: number): boolean {
  return isAlnum(c) || "!#$%&'()*+-./:<=>?@[]^_`{|}~".indexOf(String.fromCharCode(c)) >= 0;
}

/** A link-format document as its links, or why it is not one (RFC 6690 §2): at most MAX_LINK_BYTES
 * characters, MAX_LINKS links and MAX_LINK_PARAMS parameters a link. The URI reference is kept as
 * written (printable ASCII without '<', '>' or spaces). */
export function parseLinks(text: string): Link[] | string {
  if (text.length > MAX_LINK_BYTES) return 'link format of ' + text.length + ' bytes exceeds ' + MAX_LINK_BYTES;
  const links: Link[] = [];
  let p = 0;
  const at = (what: string): string => 'link format: ' + what + ' at byte ' + p;
  while (p < text.length || links.length === 0) {
    if (links.length === MAX_LINKS) return 'link format has more than ' + MAX_LINKS + ' links';
    if (text.charAt(p) !== '<') return at("expected '<'");
    const close = text.indexOf('>', p);
    if (close < 0) return at("unterminated '<'");
    const path = text.substring(p + 1, close);
    for (let k = 0; k < path.length; k++) {
      const c = path.charCodeAt(k);
      if (c <= 32 || c >= 127 || c === 60) return 'link format: URI reference "' + path.slice(0, 40) + '" has character ' + c;
    }
    p = close + 1;
    const params: Record<string, string | null> = Object.create(null);
    let count = 0;
    while (text.charAt(p) === ';') {
      p++;
      const from = p;
      while (p < text.length && isParmChar(text.charCodeAt(p))) p++;
      const name = text.substring(from, p);
      if (!name) return at('expected a parameter name');
      if (name in params) return at('parameter "' + name + '" repeated');
      if (++count > MAX_LINK_PARAMS) return at('more than ' + MAX_LINK_PARAMS + ' parameters');
      let value: string | null = null;
      if (text.charAt(p) === '=') {
        p++;
        value = '';
        if (text.charAt(p) === '"') {
          p++;
          // qdtext or a backslash-escaped character, up to the closing quote.
          while (text.charAt(p) !== '"') {
            if (text.charAt(p) === '\\') p++;
            if (p >= text.length) return at('unterminated quoted string');
            value += text.charAt(p++);
          }
          p++;
        } else {
          while (p < text.length && isTokenChar(text.charCodeAt(p))) value += text.charAt(p++);
          if (!value) return at('expected a value');
        }
      }
      params[name] = value;
    }
    links.push({ path: path, params: params });
    if (p === text.length) break;
    if (text.charAt(p) !== ',') return at("expected ',' or ';'");
    p++;
    if (p === text.length) return at('trailing comma');
  }
  return links;
}

/** What a Register payload declares: the root the object paths start at ('' for '/'), the content
 * formats named on the root link (empty when it names none), and the objects with their instances
 * (-1 for a link to an object without instances, as for an object the client supports but has no
 * instance of), each with its `ver` when given. */
export interface RegisteredObjects {
  root: string;
  formats: number[];
  objects: { obj: number; inst: number; ver: string | null }[];
}

/** A Register or Update payload (already decoded from UTF-8) as the objects it declares, or why it
 * is not acceptable: not link format, a second root link, a path outside the root or not /obj or
 * /obj/inst, an object instance listed twice, a ct that is not a list of numbers. */
export function registrationObjects(text: string): RegisteredObjects | string {
  const links = parseLinks(text);
  if (typeof links === 'string') return links;
  const out: RegisteredObjects = { root: '', formats: [], objects: [] };
  let root: Link | null = null;
  const seen: Record<string, boolean> = Object.create(null);
  for (let i = 0; i < links.length; i++) {
    const rt = links[i].params.rt;
    if (!rt || (' ' + rt + ' ').indexOf(' ' + LWM2M_RT + ' ') < 0) continue;
    if (root) return 'registration: a second root link <' + links[i].path + '>';
    root = links[i];
  }
  if (root) {
    out.root = root.path === '/' ? '' : root.path;
    // An alternate path is an absolute path that is not itself an object path.
    if (out.root && (out.root.charAt(0) !== '/' || out.root.charAt(out.root.length - 1) === '/' || parsePath(out.root))) return 'registration: root path "' + root.path + '" is neither "/" nor an alternate path';
    const ct = root.params.ct;
    const list = ct ? ct.split(' ') : [];
    for (let k = 0; k < list.length; k++) {
      const f = parseInt(list[k], 10);
      if (!(f >= 0 && f <= 65535 && '' + f === list[k])) return 'registration: root ct "' + ct + '" is not a list of content formats';
      out.formats.push(f);
    }
  }
  for (let i = 0; i < links.length; i++) {
    const l = links[i];
    if (l === root) continue;
    const rel = out.root && l.path.substring(0, out.root.length + 1) === out.root + '/' ? l.path.substring(out.root.length) : out.root ? '' : l.path;
    const ids = parsePath(rel);
    if (!ids || ids.length < 1 || ids.length > 2) return 'registration: <' + l.path + '> is not an object or object instance' + (out.root ? ' under ' + out.root : '');
    const key = ids.join('/');
    if (seen[key]) return 'registration: <' + l.path + '> listed twice';
    seen[key] = true;
    out.objects.push({ obj: ids[0], inst: ids.length > 1 ? ids[1] : -1, ver: l.params.ver === undefined ? null : l.params.ver });
  }
  return out;
}
