/**
 * CoRE Link Format for LwM2M (protocol/lwm2m/link.ts): registration payloads built and read back,
 * RFC 6690's grammar, LwM2M 1.1's root and alternate path, and hostile documents.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LINKS, ROOT_LINK, link, parseLinks, registrationObjects } from '../../protocol/lwm2m/link.js';

describe('building links', () => {
  it('builds a registration payload and a Discover answer with attributes', () => {
    expect([link('/1/0', ''), link('/3/0', ''), link('/3311/0', '')].join(',')).toBe('</1/0>,</3/0>,</3311/0>');
    expect(link('/3311/0/5850', ';pmin=10')).toBe('</3311/0/5850>;pmin=10');
    expect(ROOT_LINK).toBe('</>;rt="oma.lwm2m";ct="110 11542"');
  });
});

describe('parseLinks (RFC 6690)', () => {
  it('reads paths, bare parameters, tokens and quoted strings with escapes', () => {
    expect(parseLinks('</3311/0/5850>;obs;pmin=10;rt="ipso \\"a\\"",</3/0>;ct=40')).toEqual([
      { path: '/3311/0/5850', params: { obs: null, pmin: '10', rt: 'ipso "a"' } },
      { path: '/3/0', params: { ct: '40' } },
    ]);
  });

  it.each([
    ['an empty document', '', "expected '<'"],
    ['whitespace after a comma', '</1/0>, </3/0>', "expected '<'"],
    ['an unterminated <', '</1/0', "unterminated '<'"],
    ['a space in a path', '</1 0>', 'has character 32'],
    ['an unterminated quoted string', '</1/0>;rt="oma', 'unterminated quoted string'],
    ['a backslash ending the text', '</1/0>;rt="oma\\', 'unterminated quoted string'],
    ['a parameter without a name', '</1/0>;=1', 'expected a parameter name'],
    ['a parameter with an empty value', '</1/0>;ct=', 'expected a value'],
    ['a parameter given twice', '</1/0>;ct=1;ct=2', 'repeated'],
    ['a trailing comma', '</1/0>,', 'trailing comma'],
    ['junk after a link', '</1/0>x', "expected ',' or ';'"],
  ])('refuses %s', (_what, text, reason) => {
    expect(parseLinks(text)).toContain(reason);
  });

  it('refuses thousands of links, too many parameters and a huge document, with bounded work', () => {
    expect(parseLinks(Array(MAX_LINKS).fill('</1/0>').join(','))).toHaveLength(MAX_LINKS);
    expect(parseLinks(Array(5000).fill('</1/0>').join(','))).toContain('exceeds');
    expect(parseLinks(Array(MAX_LINKS + 1).fill('<>').join(','))).toContain('more than 256 links');
    expect(parseLinks('</1/0>' + ';a'.repeat(17))).toContain('repeated');
    expect(parseLinks('</1/0>' + Array.from({ length: 17 }, (_, i) => ';a' + i).join(''))).toContain('more than 16 parameters');
    expect(parseLinks('<' + 'x'.repeat(100000))).toContain('exceeds');
  });
});

describe('registrationObjects (LwM2M 1.1 §6.2.1)', () => {
  it('reads the objects and instances of a plain payload', () => {
    expect(registrationObjects('</1/0>,</3/0>,</3305/0>,</3311/0>,</3311/1>,</32311/0>')).toEqual({
      root: '', formats: [],
      objects: [[1, 0], [3, 0], [3305, 0], [3311, 0], [3311, 1], [32311, 0]].map(([obj, inst]) => ({ obj: obj, inst: inst, ver: null })),
    });
  });

  it('reads the root link with its content formats, objects without instances and ver', () => {
    expect(registrationObjects(ROOT_LINK + ',</1/0>,</3442>;ver=1.1,</3311/0>')).toEqual({
      root: '', formats: [110, 11542],
      objects: [{ obj: 1, inst: 0, ver: null }, { obj: 3442, inst: -1, ver: '1.1' }, { obj: 3311, inst: 0, ver: null }],
    });
  });

  it('reads objects under an alternate path', () => {
    const reg = registrationObjects('</lwm2m>;rt="oma.lwm2m",</lwm2m/1/101>,</lwm2m/3311/0>');
    expect(reg).toEqual({ root: '/lwm2m', formats: [], objects: [{ obj: 1, inst: 101, ver: null }, { obj: 3311, inst: 0, ver: null }] });
  });

  it.each([
    ['a path outside the alternate root', '</lwm2m>;rt="oma.lwm2m",</1/0>', 'is not an object or object instance under /lwm2m'],
    ['a resource path', '</3311/0/5850>', 'is not an object or object instance'],
    ['the root path itself without rt', '</>', 'is not an object or object instance'],
    ['a non-numeric object', '</lamp/0>', 'is not an object or object instance'],
    ['two root links', '</>;rt="oma.lwm2m",</a>;rt="oma.lwm2m"', 'a second root link'],
    ['an object path as root', '</3>;rt="oma.lwm2m"', 'neither "/" nor an alternate path'],
    ['a root ct that is not numbers', '</>;rt="oma.lwm2m";ct="110 x"', 'not a list of content formats'],
    ['an instance listed twice', '</3/0>,</3/0>', 'listed twice'],
    ['bad link format', '</3/0', "unterminated '<'"],
  ])('refuses %s', (_what, text, reason) => {
    expect(registrationObjects(text)).toContain(reason);
  });
});
