/** The topic scheme: command topics classified, unusable names explained. */
import { describe, expect, it } from 'vitest';
import { nameProblem, parseCommandTopic, topicMatcher } from '../../protocol/mqtt-topics.js';

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

  it.each([
    ['lampnet/lamps/+/state', 'lampnet/lamps/42/state', true],
    ['lampnet/lamps/+/state', 'lampnet/lamps/42/availability', false],
    ['lampnet/lamps/+/state', 'lampnet/lamps/a/b/state', false],
    ['lampnet/lamps/+', 'lampnet/lamps/', true],
    ['lampnet/lamps/+', 'lampnet/lamps', false],
    ['lampnet/#', 'lampnet', true],
    ['lampnet/#', 'lampnet/stats', true],
    ['lampnet/#', 'lampnetx/stats', false],
    ['lampnet/stats', 'lampnet/stats', true],
    ['lampnet/stats', 'lampnet/stats/x', false],
    ['lampnet/stats', 'lampnet/stat', false],
    ['lampnet/stats/x', 'lampnet/stats', false],
    ['#', 'lampnet/gateway/status', true],
    ['+/+', 'a/b', true],
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
  ])('filter %s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatcher(filter)(topic)).toBe(expected);
  });
});
