"""Home Assistant's side of lampnet, played with HA's own MQTT client library (paho-mqtt, MQTT 5).

Usage: ha-paho.py <host> <port> <lamp count> <group>
Connects with MQTTv5, collects the retained discovery configs under homeassistant/, checks each
against the fields HA's MQTT light (JSON schema) requires and reads, then commands one lamp and the
group through the command topics the configs name, as HA would, and waits for the lamps' states.
Prints one JSON line with what it saw; exits non-zero naming the first problem. Bounded by a timeout.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt

TIMEOUT_S = 30
COLOR_MODES = {'onoff', 'brightness', 'color_temp', 'hs', 'xy', 'rgb', 'rgbw', 'rgbww', 'white'}

host, port, lamp_count, group = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
configs = {}
states = {}
changed = threading.Condition()


def fail(problem):
    print(problem, file=sys.stderr)
    sys.exit(1)


def on_message(client, userdata, message):
    with changed:
        payload = message.payload.decode('utf-8')
        if message.topic.startswith('homeassistant/') and payload:
            configs[message.topic] = json.loads(payload)
        elif message.topic.endswith('/state'):
            states[message.topic] = json.loads(payload)
        changed.notify_all()


def wait_for(what, check):
    with changed:
        if not changed.wait_for(check, timeout=TIMEOUT_S):
            fail('timed out after %d s waiting for %s' % (TIMEOUT_S, what))


def check_light(topic, config):
    """The fields HA's MQTT light, JSON schema, requires or reads from a discovery config."""
    where = '%s: ' % topic
    if config.get('schema') != 'json':
        fail(where + 'schema is not "json"')
    for key in ('command_topic', 'unique_id', 'default_entity_id'):
        if not isinstance(config.get(key), str) or not config[key]:
            fail(where + '%s missing' % key)
    if 'object_id' in config:
        fail(where + 'object_id is no longer honoured by HA')
    if not config['default_entity_id'].startswith('light.'):
        fail(where + 'default_entity_id is not light.<object id>')
    if config.get('brightness_scale') != 100:
        fail(where + 'brightness_scale is not 100')
    modes = config.get('supported_color_modes')
    if not isinstance(modes, list) or not modes or not set(modes) <= COLOR_MODES:
        fail(where + 'supported_color_modes %r' % modes)
    availability = config.get('availability')
    if not isinstance(availability, list) or not all(isinstance(a, dict) and isinstance(a.get('topic'), str) for a in availability):
        fail(where + 'availability is not a list of {topic}')
    if 'availability_topic' in config:
        fail(where + 'availability_topic must not be used together with availability')
    if config.get('availability_mode') != 'all':
        fail(where + 'availability_mode is not "all"')
    device = config.get('device')
    if not isinstance(device, dict) or not device.get('identifiers'):
        fail(where + 'device has no identifiers')


client = mqtt.Client(client_id='ha-paho', protocol=mqtt.MQTTv5)
client.on_message = on_message
client.connect(host, port)
client.loop_start()
client.subscribe([('homeassistant/#', 1), ('lampnet/lamps/+/state', 1)])

group_topic = 'homeassistant/light/lampnet-group-%s/config' % group
is_group = lambda topic: topic.startswith('homeassistant/light/lampnet-group-')
wait_for('%d lamp configs and the group config' % lamp_count,
         lambda: sum(1 for t in configs if not is_group(t)) >= lamp_count and group_topic in configs)
lamps = {t: c for t, c in configs.items() if not is_group(t)}
wait_for('the state of every lamp', lambda: all(c['state_topic'] in states for c in lamps.values()))
for topic, config in configs.items():
    check_light(topic, config)
if len(lamps) != lamp_count:
    fail('%d lamp configs, expected %d' % (len(lamps), lamp_count))
for topic, config in lamps.items():
    if not isinstance(config.get('state_topic'), str):
        fail(topic + ': a lamp has no state_topic')
    if not config['device'].get('sw_version'):
        fail(topic + ': a lamp device has no sw_version')
    topics = [a['topic'] for a in config['availability']]
    if 'lampnet/gateway/status' not in topics or len(topics) != 2:
        fail(topic + ': availability does not list the gateway status and the lamp')

# Command one lamp as HA's JSON light does: brightness on the announced 0-100 scale.
first = lamps[sorted(lamps)[0]]
client.publish(first['command_topic'], json.dumps({'state': 'ON', 'brightness': 50}), qos=1)
wait_for('the lamp at brightness 50', lambda: states.get(first['state_topic'], {}).get('brightness') == 50)
# Command the group: every lamp of it turns off.
members = [c['state_topic'] for c in lamps.values() if group in states.get(c['state_topic'], {}).get('groups', [])]
if not members:
    fail('no lamp state names group %s' % group)
client.publish(configs[group_topic]['command_topic'], json.dumps({'state': 'OFF'}), qos=1)
wait_for('every lamp of %s off' % group, lambda: all(states[t].get('state') == 'OFF' for t in members))

print(json.dumps({'configs': len(configs), 'members': len(members), 'lamp': first['unique_id'], 'sw_version': first['device']['sw_version']}))
client.loop_stop()
client.disconnect()
