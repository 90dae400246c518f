import { describe, expect, test } from '@jest/globals';
import { WriteReadiness } from '../../service/readiness.js';
import { StorageFailure } from '../../service/store/failure.js';
import { capturedLogger } from './support/http.js';

/** A store whose probe answers what the test says, counting the probes. */
function probedStore() {
  const store = {
    probes: 0,
    answer: (): Promise<void> => Promise.resolve(),
    probeWrite: () => {
      store.probes++;
      return store.answer();
    },
  };
  return store;
}

function readinessOf(store: ReturnType<typeof probedStore>, timeoutMs = 1000) {
  let now = 0;
  const { logger, lines } = capturedLogger('info');
  const readiness = new WriteReadiness({ store, logger, timeoutMs, reuseMs: 1000, now: () => now });
  return {
    readiness,
    logged: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    advance: (ms: number) => (now += ms),
  };
}

describe('write readiness', () => {
  test('is ready while the probe write commits', async () => {
    const store = probedStore();
    const { readiness, logged } = readinessOf(store);
    expect(await readiness.check()).toBeUndefined();
    expect(logged()).toEqual([]);
  });

  test('reports the failure kind and logs its cause once per change of state, not per probe', async () => {
    const store = probedStore();
    const { readiness, logged, advance } = readinessOf(store);
    store.answer = () =>
      Promise.reject(new StorageFailure('full', 'volume /data has 10 bytes free'));
    for (let i = 0; i < 3; i++) {
      expect(await readiness.check()).toMatchObject({ kind: 'full' });
      advance(1000);
    }
    store.answer = () => Promise.reject(new StorageFailure('unwritable', 'file moved'));
    expect(await readiness.check()).toMatchObject({ kind: 'unwritable' });
    advance(1000);
    store.answer = () => Promise.resolve();
    expect(await readiness.check()).toBeUndefined();
    advance(1000);
    expect(await readiness.check()).toBeUndefined();

    expect(store.probes).toBe(6);
    const entries = logged();
    expect(entries.map((entry) => [entry.level, entry.kind])).toEqual([
      [50, 'full'],
      [50, 'unwritable'],
      [30, undefined],
    ]);
    expect(JSON.stringify(entries[0])).toContain('volume /data has 10 bytes free');
  });

  test('probes at most once a second however often it is asked', async () => {
    const store = probedStore();
    const { readiness, advance } = readinessOf(store);
    await Promise.all(Array.from({ length: 50 }, () => readiness.check()));
    advance(999);
    await readiness.check();
    expect(store.probes).toBe(1);
    advance(1);
    await readiness.check();
    expect(store.probes).toBe(2);
  });

  test('counts a probe that does not answer in time as unavailable', async () => {
    const store = probedStore();
    store.answer = () => new Promise(() => undefined); // a frozen database
    const { readiness } = readinessOf(store, 50);
    expect(await readiness.check()).toMatchObject({ kind: 'unavailable' });
  });

  test('counts any other error of the probe as unavailable, keeping it as the cause', async () => {
    const store = probedStore();
    store.answer = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    const { readiness, logged } = readinessOf(store);
    expect(await readiness.check()).toMatchObject({ kind: 'unavailable' });
    expect(JSON.stringify(logged())).toContain('ECONNREFUSED 10.0.0.5:5432');
  });
});
