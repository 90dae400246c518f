/** Where the steps write what they do; main.ts backs it with @actions/core, tests with an array. */
export interface Logger {
  info(message: string): void;
  /** A warning annotation (`title` names the instance and outcome where there is one). */
  warning(message: string, annotation?: Annotation): void;
  /** An error annotation: one per failed instance, so the run's page lists each. */
  error(message: string, annotation?: Annotation): void;
  /** A notice annotation (the throttling count). */
  notice(message: string, annotation?: Annotation): void;
  /** Shown only when the workflow enables debug logging: request ids, command ids. */
  debug(message: string): void;
  /** A collapsible group in the job log (`::group::`). */
  group(title: string, body: string): void;
}

/** What @actions/core's annotation properties the action sets. */
export interface Annotation {
  title?: string;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  debug: () => undefined,
  group: () => undefined,
};
