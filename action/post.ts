import { ListCommandsCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { describeAwsError } from './aws-errors.js';
import type { Logger } from './logger.js';
import { cancelCommand } from './run-command.js';

const RUNNING = new Set(['Pending', 'InProgress', 'Delayed']);

/**
 * Cancels the SSM commands a cancelled job left running, so that no instance keeps deploying
 * after the workflow said stop. Runs in the post step, and in the main step on SIGINT/SIGTERM.
 */
export async function cancelInFlight(
  ssm: SSMClient,
  commandIds: string[],
  log: Logger,
): Promise<string[]> {
  const cancelled: string[] = [];
  for (const commandId of commandIds) {
    try {
      const answer = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      const status = answer.Commands?.[0]?.Status ?? 'Unknown';
      if (!RUNNING.has(status) && status !== 'Unknown') {
        log.info(`SSM command ${commandId} already ended (${status}).`);
        continue;
      }
      await cancelCommand(ssm, commandId);
      cancelled.push(commandId);
      log.warning(
        `Cancelled SSM command ${commandId} (${status}); its instances may be mid-deploy: check them or re-run the workflow.`,
      );
    } catch (error) {
      log.warning(`Could not cancel SSM command ${commandId}: ${describeAwsError(error)}`);
    }
  }
  return cancelled;
}
