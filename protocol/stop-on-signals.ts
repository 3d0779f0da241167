/** How a long-running onair process stops: on SIGINT or SIGTERM, close cleanly, then exit (1 if the close failed). */
import type { Logger } from './logger.js';

export function stopOnSignals(logger: Logger, close: () => Promise<void>): void {
  const stop = (): void => {
    logger.info('stopping');
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
