/** Where the steps write what they do; main.ts backs it with @actions/core, tests with an array. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  /** Shown only when the workflow enables debug logging: request ids, command ids. */
  debug(message: string): void;
  /** A collapsible group in the job log (`::group::`). */
  group(title: string, body: string): void;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  group: () => undefined,
};
