import type { Logger } from './logger.js';
import { StorageFailure } from './store/failure.js';
import type { DocumentStore } from './store/index.js';

export interface WriteReadinessOptions {
  store: Pick<DocumentStore, 'probeWrite'>;
  logger: Logger;
  /** A probe that has not answered by then counts as `unavailable` (a frozen database). */
  timeoutMs?: number;
  /**
   * A probe's answer is reused this long: /ready is public and each probe is a real write, so a
   * flood of /ready requests costs at most one write per interval.
   */
  reuseMs?: number;
  now?: () => number;
}

type State = 'writable' | StorageFailure['kind'];

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StorageFailure('unavailable', `no answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function asFailure(error: unknown): StorageFailure {
  if (error instanceof StorageFailure) return error;
  return new StorageFailure('unavailable', 'the write probe failed', { cause: error });
}

/**
 * Whether the store can write right now, for /ready: a real write (store.probeWrite), with its
 * answer reused briefly. The cause of a failure is logged once when the state changes (writable,
 * or which kind of failure), not on every probe; the caller shows the client only the kind.
 */
export class WriteReadiness {
  private readonly timeoutMs: number;
  private readonly reuseMs: number;
  private readonly now: () => number;
  private last: { at: number; answer: Promise<StorageFailure | undefined> } | undefined;
  private state: State = 'writable';

  constructor(private readonly options: WriteReadinessOptions) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.reuseMs = options.reuseMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Resolves to undefined when a write succeeded, else to the failure (it never rejects). */
  check(): Promise<StorageFailure | undefined> {
    const now = this.now();
    if (this.last && now - this.last.at < this.reuseMs) return this.last.answer;
    const answer = this.probe();
    this.last = { at: now, answer };
    // Until it settles, every caller shares the probe in flight; its age counts from the end.
    void answer.then(() => {
      if (this.last?.answer === answer) this.last.at = this.now();
    });
    return answer;
  }

  private async probe(): Promise<StorageFailure | undefined> {
    try {
      await withTimeout(this.options.store.probeWrite(), this.timeoutMs);
      this.enter('writable');
      return undefined;
    } catch (error) {
      const failure = asFailure(error);
      this.enter(failure.kind, failure);
      return failure;
    }
  }

  private enter(state: State, failure?: StorageFailure): void {
    if (state === this.state) return;
    this.state = state;
    if (failure) {
      this.options.logger.error(
        { err: failure, kind: failure.kind },
        'storage cannot write: /ready answers 503 until a write succeeds',
      );
    } else {
      this.options.logger.info('storage writes again: /ready answers 200');
    }
  }
}
