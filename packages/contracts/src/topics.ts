/** Kafka topic names. Versioned so a breaking message change gets a new topic. */
export const Topics = {
  commands: 'workload.commands.v1',
  commandResults: 'workload.command-results.v1',
  events: 'workload.events.v1',
  requests: 'workload.requests.v1',
  requestsDeadLetter: 'workload.requests.dlq.v1',
  logs: 'workload.logs.v1',
  logsDeadLetter: 'workload.logs.dlq.v1',
  concurrency: 'workload.concurrency.v1',
} as const;
export type TopicName = (typeof Topics)[keyof typeof Topics];
