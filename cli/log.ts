/**
 * The lines a long-running command writes after `ready`, for a person at a terminal (`text`) or for
 * a log shipper (`json`: one object per line with time, level and msg, plus the line's fields).
 * `--log-level` drops what is less severe. The banner and `ready` stay plain text in both formats:
 * they are the start-up contract scripts wait on (cli/run.ts).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseSecondsAsMs } from './options.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean>;

export class Logger {
  private readonly threshold: number;

  constructor(level: LogLevel, private readonly format: LogFormat, private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.threshold;
  }

  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const now = new Date();
    if (this.format === 'json') {
      this.write(`${JSON.stringify({ time: now.toISOString(), level, msg, ...fields })}\n`);
    } else {
      this.write(`${now.toISOString().slice(11, 19)} ${level.padEnd(5)} ${msg}\n`);
    }
  }

  error(msg: string, fields?: LogFields): void { this.log('error', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.log('warn', msg, fields); }
  info(msg: string, fields?: LogFields): void { this.log('info', msg, fields); }
  debug(msg: string, fields?: LogFields): void { this.log('debug', msg, fields); }
}

/** --log-level, --log-format and --summary-interval, shared by `lampnet gateway` and `lampnet up`. */
export function addLogOptions(cmd: Command): Command {
  return cmd
    .option('--log-level <level>', `least severe lines printed after ready: ${LOG_LEVELS.join(', ')} (debug adds every command's outcome)`, 'info')
    .option('--log-format <text|json>', 'json: one JSON object per line (time, level, msg, fields), for log shippers', 'text')
    .option('--summary-interval <s>', 'print a summary line (lamps, registrations, commands, errors, backlog) this often; 0 = never', '60');
}

export interface TerminalOptions {
  logger: Logger;
  summaryIntervalMs: number;
}

export function terminalOptionsFrom(o: Record<string, unknown>): TerminalOptions {
  const level = String(o.logLevel);
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const format = String(o.logFormat);
  if (format !== 'text' && format !== 'json') throw new InvalidArgumentError(`--log-format must be text or json, got "${format}"`);
  return { logger: new Logger(level as LogLevel, format), summaryIntervalMs: parseSecondsAsMs(String(o.summaryInterval), '--summary-interval', 0, 86_400) };
}
