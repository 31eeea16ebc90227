import { sampled } from './registry';

/** What a bus reports (KafkaBus.consumerLag); this package does not depend on the bus. */
interface LagSource {
  consumerLag(): Promise<Array<{ group: string; topic: string; partition: number; lag: number }>>;
}

/** A scrape does not wait longer than this for the broker: the lag series are left out instead. */
const SAMPLE_TIMEOUT_MS = 2000;

/** `wcp_kafka_consumer_lag{group,topic,partition}`, read from the broker at each scrape. */
export function watchConsumerLag(source: LagSource): () => void {
  return sampled('gauge', 'wcp_kafka_consumer_lag', 'Messages of a topic-partition not yet committed by a consumer group of this process (high watermark − committed offset), read from the broker at scrape time.', ['group', 'topic', 'partition'], async (add) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('consumer lag: broker did not answer in time')), SAMPLE_TIMEOUT_MS);
    });
    try {
      for (const { group, topic, partition, lag } of await Promise.race([source.consumerLag(), timeout])) add({ group, topic, partition }, lag);
    } finally {
      clearTimeout(timer);
    }
  });
}
