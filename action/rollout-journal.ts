// What a rollout has changed so far, kept in the job state (core.saveState) so that the post step
// can undo it after a cancelled job. Why the post step does the undo: docs/decisions.md.
import type { HealthVersion } from './health-version.js';

/** Told, as the rollout goes, what the post step would need to undo it after a cancel. */
export interface RolloutJournal {
  /** Before the deploy command is sent to these instances (they may switch from now on). */
  deploying(instanceIds: string[]): void;
  /** The instance reported what it ran before (from the deploy script's result line). */
  updated(
    instanceId: string,
    previousImage: string | undefined,
    previousVersion: string | undefined,
  ): void;
  /** The instance is settled: back on its previous version, or the rollout finished with it. */
  settled(instanceId: string): void;
  /** The rollout ended (success or failure handled): nothing for the post step to undo. */
  finished(): void;
}

/** The rollout's values the post step needs to render rollback and restore scripts. */
export interface JournalContext {
  version: string;
  /** The rollout's id, kept by each instance with its backup (MODE=restore trusts only it). */
  deployId: string;
  region: string;
  registry: string;
  appDir: string;
  healthUrl: string;
  healthVersion?: HealthVersion;
  healthTimeoutSeconds: number;
  commandTimeoutSeconds: number;
  /** `rollback: false` leaves a cancelled rollout as it is. */
  rollback: boolean;
}

export interface JournalEntry {
  /** Known once the instance reported it; without it the post step restores from the backup. */
  previousImage?: string;
  previousVersion?: string;
  settled?: boolean;
}

export interface JournalState extends JournalContext {
  instances: Record<string, JournalEntry>;
  finished: boolean;
}

/**
 * A journal that saves its whole state through `save` (core.saveState keeps the last value). The
 * moments an instance may switch (`deploying`) and the end (`finished`) are saved at once; the
 * per-instance reports of a batch arrive in one turn of the event loop and are saved together,
 * before a signal handler or anything else can run.
 */
export function rolloutJournal(
  save: (state: string) => void,
  context: JournalContext,
): RolloutJournal & { state(): JournalState } {
  const state: JournalState = { ...context, instances: {}, finished: false };
  let pending = false;
  const saveNow = () => {
    pending = false;
    save(JSON.stringify(state));
  };
  const saveSoon = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      if (pending) saveNow();
    });
  };
  return {
    deploying(instanceIds) {
      for (const id of instanceIds) state.instances[id] ??= {};
      saveNow();
    },
    updated(instanceId, previousImage, previousVersion) {
      state.instances[instanceId] = {
        ...state.instances[instanceId],
        previousImage,
        previousVersion,
      };
      saveSoon();
    },
    settled(instanceId) {
      state.instances[instanceId] = { ...state.instances[instanceId], settled: true };
      saveSoon();
    },
    finished() {
      state.finished = true;
      saveNow();
    },
    state: () => structuredClone(state),
  };
}

/** Reads a saved journal; undefined when there is none or it is not one (never throws). */
export function readJournal(raw: string): JournalState | undefined {
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<JournalState>;
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      typeof parsed.version !== 'string' ||
      typeof parsed.instances !== 'object' ||
      parsed.instances === null
    ) {
      return undefined;
    }
    return parsed as JournalState;
  } catch {
    return undefined;
  }
}

/** The instances a cancelled rollout left to undo: sent the deploy, not settled. */
export function unsettled(state: JournalState): Array<{ instanceId: string } & JournalEntry> {
  if (state.finished) return [];
  return Object.entries(state.instances)
    .filter(([, entry]) => !entry.settled)
    .map(([instanceId, entry]) => ({ instanceId, ...entry }));
}
