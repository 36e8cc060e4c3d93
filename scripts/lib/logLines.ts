import { styleText } from 'node:util';

const colors = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red', 'white'] as const;
const assigned = new Map<string, (typeof colors)[number]>();
const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const skip = new Set(['level', 'time', 'pid', 'hostname', 'name', 'service', 'msg']);

/**
 * One child's log line for the console: a coloured `[service]` prefix, and pino's JSON turned
 * into `LEVEL message key=value`. Lines that are not JSON pass through as they are.
 */
export function formatLogLine(service: string, line: string): string {
  if (!assigned.has(service)) assigned.set(service, colors[assigned.size % colors.length]!);
  const prefix = styleText(assigned.get(service)!, `[${service.padEnd(9)}]`);
  if (!line.startsWith('{')) return `${prefix} ${line}`;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const level = levels[entry.level as number] ?? 'INFO';
    const extra = Object.entries(entry)
      .filter(([k]) => !skip.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const text = `${level.padEnd(5)} ${entry.msg ?? ''}${extra ? ` ${styleText('dim', extra)}` : ''}`;
    return `${prefix} ${level === 'ERROR' || level === 'FATAL' ? styleText('red', text) : text}`;
  } catch {
    return `${prefix} ${line}`;
  }
}
