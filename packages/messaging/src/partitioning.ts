import { Partitioners } from 'kafkajs';

/**
 * The partitions of one topic a subscriber owns in its consumer group, and how many the topic
 * has: with the key → partition function below, any member can tell which keys are its own.
 * In-process there is one member, and it owns everything (`partitionCount` 1, partition 0).
 */
export interface PartitionAssignment {
  partitions: number[];
  partitionCount: number;
}

const partitioner = Partitioners.DefaultPartitioner();
const metadataOf = new Map<number, Array<{ partitionId: number; leader: number }>>();

/**
 * The partition the producer puts `key` on: kafkajs' default (Java-compatible murmur2)
 * partitioner, called the way the producer calls it, so the answer cannot drift from where
 * the message really lands.
 */
export function partitionOf(key: string, partitionCount: number): number {
  if (partitionCount <= 1) return 0;
  let partitionMetadata = metadataOf.get(partitionCount);
  if (!partitionMetadata) {
    partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionId, leader: 0 }));
    metadataOf.set(partitionCount, partitionMetadata);
  }
  return partitioner({ topic: '', partitionMetadata: partitionMetadata as never, message: { key, value: null } });
}

/** Whether the member with `assignment` receives the messages keyed `key`. */
export function ownsKey(assignment: PartitionAssignment, key: string): boolean {
  return assignment.partitions.includes(partitionOf(key, assignment.partitionCount));
}
