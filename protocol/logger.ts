import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The one way processes make their root logger: structured JSON on stderr, so stdout stays free for
 * what a command prints (URLs, benchmark JSON). Scoped children carry unitId, channelId, groupId, viewerId.
 */
export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}
