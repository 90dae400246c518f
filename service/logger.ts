import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON lines on stdout. Credentials are redacted wherever a header object might be logged, so a
 * token cannot leak through a future `log.info({ req })` either.
 */
export function createLogger(
  options: { level: string; instance?: string; version?: string },
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level: options.level,
      base: { instance: options.instance, version: options.version },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'headers.cookie',
          'req.headers.authorization',
          'req.headers.cookie',
          'request.headers.authorization',
          'config.apiTokens',
          'apiTokens',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
