import type { ProtonScaled } from '../../domain/workload.decider';

/**
 * The autoscaler's decision for one proton (AutoscalerSaga), recorded as a Proton Scaled event
 * when it changes the count. Internal: no API caller sends it, so it carries no envelope.
 */
export class ScaleProtonCommand {
  constructor(
    readonly workloadId: string,
    /** `from`: the count the autoscaler believed; the stream's own count wins. */
    readonly decision: Omit<ProtonScaled, 'from'> & { from: number },
    /** RFC 3339, from the service's clock. */
    readonly now: string,
  ) {}
}
