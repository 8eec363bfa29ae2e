/**
 * Settings from a file and from the environment, under the flags' own names, for the long-running
 * commands (`sim`, `gateway`, `up`): a city's settings live in a file, not in a long command line.
 *
 *   --config <file>      JSON or YAML; keys are the flags' long names (`mqtt-port: 1883`, `lamps: 1000`);
 *                        LAMPNET_CONFIG names the file when the flag does not
 *   LAMPNET_<NAME>       the flag `--name` in capitals with `_` for `-` (LAMPNET_MQTT_PORT=1883)
 *   --print-config       print the merged settings, each with where it came from, and exit
 *
 * A flag on the command line wins over the environment, which wins over the file, which wins over
 * the default. Values reach the command as the flags' text does, so they pass the same checks with
 * the same errors; an unknown key or a value of the wrong kind is refused naming the file (or the
 * variable) and the key.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command, type Option } from 'commander';
import YAML from 'yaml';

const ENV_PREFIX = 'LAMPNET_';
/** Options that say where settings come from, or what to do with them: not settings themselves. */
const NOT_SETTINGS = new Set(['config', 'printConfig', 'help', 'version']);

type Value = string | boolean | string[];
type Source = 'cli' | 'env' | 'config' | 'default';

/** The environment variable that sets the flag `--mqtt-port`: LAMPNET_MQTT_PORT. */
export function envName(option: Option): string {
  return ENV_PREFIX + option.long!.slice(2).toUpperCase().replace(/-/g, '_');
}

/** Add --config and --print-config to `cmd`, and apply the file and LAMPNET_* before its action.
 * `check` is the command's own reading of its options: --print-config prints only settings it accepts. */
export function withConfig(cmd: Command, check: (raw: Record<string, unknown>) => void): Command {
  cmd
    .option('--config <file>', `settings file, JSON or YAML, with the flags' names as keys (flags and ${ENV_PREFIX}* variables win over it)`)
    .option('--print-config', 'print the settings from flags, environment, config file and defaults, merged, and exit')
    .addHelpText('after', `
Every option can also be set in the --config file (key: its name without --) or in the environment
(${ENV_PREFIX}<NAME>, e.g. ${ENV_PREFIX}MQTT_PORT=1883); a flag wins over the environment, which wins
over the file.`);
  cmd.hook('preAction', () => {
    applySettings(cmd, process.env);
    if (cmd.getOptionValue('printConfig') === true) {
      check(cmd.opts());
      process.stdout.write(printConfig(cmd));
      process.exit(0);
    }
  });
  return cmd;
}

function settings(cmd: Command): Option[] {
  return cmd.options.filter((o) => o.long !== undefined && !NOT_SETTINGS.has(o.attributeName()));
}

/** Whether a value of lower precedence than the command line may still replace this option's. */
function replaceable(cmd: Command, option: Option, by: Source): boolean {
  const source = cmd.getOptionValueSource(option.attributeName()) as Source | undefined;
  if (source === undefined || source === 'default') return true;
  return by === 'env' && source === 'config';
}

/** Apply LAMPNET_* variables from `env` and the --config file to the options the command line left unset. */
export function applySettings(cmd: Command, env: NodeJS.ProcessEnv): void {
  const options = settings(cmd);
  const file = (cmd.getOptionValue('config') as string | undefined) ?? env[`${ENV_PREFIX}CONFIG`];
  if (file !== undefined) {
    const values = readConfigFile(file);
    const byName = new Map(options.map((o) => [o.long!.slice(2), o]));
    for (const [key, raw] of Object.entries(values)) {
      const option = byName.get(key);
      if (option === undefined) {
        throw new InvalidArgumentError(`${file}: unknown setting "${key}"; expected one of the flags' names: ${[...byName.keys()].join(', ')}`);
      }
      if (replaceable(cmd, option, 'config')) set(cmd, option, fromFile(raw, option, `${file}: ${key}`), 'config');
    }
  }
  for (const option of options) {
    const text = env[envName(option)];
    if (text !== undefined && replaceable(cmd, option, 'env')) set(cmd, option, fromEnv(text, option), 'env');
  }
}

function set(cmd: Command, option: Option, value: Value, source: Source): void {
  cmd.setOptionValueWithSource(option.attributeName(), value, source);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    doc = YAML.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`--config ${file}: not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidArgumentError(`--config ${file}: expected a mapping of settings (name: value), got ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  return doc as Record<string, unknown>;
}

const isBoolean = (option: Option): boolean => !option.required && !option.optional;

function fromFile(raw: unknown, option: Option, where: string): Value {
  if (isBoolean(option)) {
    if (typeof raw !== 'boolean') throw new InvalidArgumentError(`${where} must be true or false, got ${JSON.stringify(raw)}`);
    return raw;
  }
  if (option.variadic && Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw as string[];
  if (typeof raw === 'string' || typeof raw === 'number') return option.variadic ? [String(raw)] : String(raw);
  throw new InvalidArgumentError(`${where} must be ${option.variadic ? 'a text, a number or a list of texts' : 'a text or a number'}, got ${JSON.stringify(raw)}`);
}

function fromEnv(text: string, option: Option): Value {
  if (isBoolean(option)) {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    throw new InvalidArgumentError(`${envName(option)} must be true or false (or 1/0, yes/no), got "${text}"`);
  }
  return option.variadic ? text.split(/[\s,]+/).filter((t) => t !== '') : text;
}

const SECRET = /password|secret/i;

/** The merged settings as YAML, each with its source; secrets are not printed. A settings file
 * for --config can be cut from it. */
export function printConfig(cmd: Command): string {
  const lines = [`# lampnet ${cmd.name()}: settings by precedence (flag > ${ENV_PREFIX}* > --config file > default)`];
  for (const option of settings(cmd)) {
    const key = option.attributeName();
    const value = cmd.getOptionValue(key) as unknown;
    const source = cmd.getOptionValueSource(key) ?? 'unset';
    const shown = value !== undefined && SECRET.test(option.long!) ? '<hidden>'
      : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    const name = option.long!.slice(2);
    lines.push(shown === undefined
      ? `# ${name}:  (unset)`
      : `${name}: ${YAML.stringify(shown, { lineWidth: 0, collectionStyle: 'flow' }).trim()}  # ${source === 'cli' ? 'flag' : source === 'env' ? envName(option) : source === 'config' ? 'config file' : source}`);
  }
  return `${lines.join('\n')}\n`;
}
