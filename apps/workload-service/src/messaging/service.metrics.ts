import { counter, histogram } from '@wcp/metrics';

/** The workload service's event-driven series (the sampled ones live with what they sample). */
export const commandsHandled = counter('wcp_commands_handled_total', 'Commands handled by the workload service, by command and outcome (ok, the refusal kind, retry, dead_letter, invalid).', ['command', 'outcome']);
export const commandDuration = histogram('wcp_command_handle_duration_seconds', 'Commands from the start of handling to the reply published (or the retry decided), by command and outcome.', ['command', 'outcome']);
export const appendDuration = histogram('wcp_event_store_append_duration_seconds', 'Event-store appends from request to outcome (group commit included), by outcome.', ['outcome']);
export const appendBatch = histogram('wcp_event_store_append_batch_size', 'Commits written together by one group-commit write of the event store.', [], [1, 2, 4, 8, 16, 32, 64, 128, 256]);
export const sagaSteps = counter('wcp_saga_steps_total', 'Steps run by the process managers, by saga (lifecycle, replacement), step and outcome (ok, error).', ['saga', 'step', 'outcome']);
export const autoscalerDecisions = counter('wcp_autoscaler_decisions_total', 'Replica-count changes the autoscaler recorded (Proton Scaled), by mode (stable, panic, from-zero, to-zero, bounds) and direction (up, down).', ['mode', 'direction']);

/** Runs a saga step and counts its outcome; the error still propagates to the saga's own handler. */
export async function countedStep(saga: string, step: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    sagaSteps.inc({ saga, step, outcome: 'ok' });
  } catch (error) {
    sagaSteps.inc({ saga, step, outcome: 'error' });
    throw error;
  }
}
