import { Logger } from '@nestjs/common';
import { ConcurrencySample, Topics } from '@wcp/contracts';
import type { MessageBus } from '@wcp/messaging';
import { randomUUID } from 'node:crypto';

/**
 * Where the hold tells the autoscaler that requests wait for a proton at zero. The signature is
 * the concurrency meter's `publishNow`, so the meter can take this one's place.
 */
export interface HoldDemand {
  /** `held` requests wait for (workload, proton) now: a ConcurrencySample goes out at once. 0: none any more. */
  publishNow(workloadId: string, protonId: string, held: number): void;
}

export const HOLD_DEMAND = Symbol('HOLD_DEMAND');

/**
 * Publishes the hold's demand as ConcurrencySamples on `workload.concurrency.v1` (at most once,
 * as the topic is: a lost sample is replaced by the next one, DATA_PLANE_HOLD_POLL_MS later at
 * the latest). A held request is in flight, so the window's mean and maximum are `held` too.
 * The end of a hold (`held` 0) is not published: the requests it released are in flight then,
 * and a sample of 0 would read as idle.
 */
export class BusHoldDemand implements HoldDemand {
  private readonly logger = new Logger('HoldDemand');

  constructor(private readonly bus: MessageBus, private readonly windowMs: number, readonly gatewayId: string = randomUUID()) {}

  publishNow(workloadId: string, protonId: string, held: number): void {
    if (held === 0) return;
    const sample: ConcurrencySample = {
      type: 'concurrency.sample',
      schemaVersion: 1,
      gatewayId: this.gatewayId,
      workloadId,
      protonId,
      at: new Date().toISOString(),
      windowMs: this.windowMs,
      averageInFlight: held,
      maxInFlight: held,
      held,
    };
    this.bus.publish(Topics.concurrency, [{ key: workloadId, value: sample }]).catch((error: unknown) => {
      this.logger.warn(`demand of workload ${workloadId} not published: ${error instanceof Error ? error.message : error}`);
    });
  }
}
