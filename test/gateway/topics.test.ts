/** The topic scheme: command topics classified, unusable names explained. */
import { describe, expect, it } from 'vitest';
import { nameProblem, parseCommandTopic } from '../../gateway/topics.js';

describe('topics', () => {
  it.each([
    ['lampnet/lamps/42/set', { target: 'lamp', name: '42' }],
    ['lampnet/groups/street-7/set', { target: 'group', name: 'street-7' }],
    ['lampnet/lamps//set', { target: 'lamp', name: '' }],
    ['lampnet/lamps/a/b/set', { target: 'lamp', name: 'a/b' }],
    ['lampnet/lamps/42/state', null],
    ['lampnet/lamps/a/b/c', null],
    ['lampnet/stats', null],
    ['other/lamps/1/set', null],
  ])('classifies %s', (topic, expected) => {
    expect(parseCommandTopic(topic)).toEqual(expected);
  });

  it.each([
    ['', /is empty/],
    ['a/b', /contains '\/'/],
    ['a+', /contains '\+'/],
    ['#', /contains '#'/],
    ['tab\there', /control character/],
    ['x'.repeat(65), /longer than 64 bytes/],
  ])('refuses the name %j', (name, reason) => {
    expect(nameProblem('lamp id', name)).toMatch(reason);
  });

  it('accepts ordinary names', () => {
    expect(nameProblem('lamp id', '42')).toBeNull();
    expect(nameProblem('group', 'Hauptstraße-Nord')).toBeNull();
  });
});
