import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, WorkloadServiceConfig } from '../config';
import { ReplacementSaga } from '../rollouts/sagas/replacement.saga';
import { LifecycleSaga } from '../workloads/sagas/lifecycle.saga';
import { RuntimePlacement } from './runtime-placement';

/**
 * Moves runtime work with the command partitions: after each change of what this instance
 * owns, and every RUNTIME_RESYNC_MS in case a change raced with a command, the lifecycle saga
 * releases and takes over protons and the replacement saga resumes the rollouts of the
 * workloads gained. Passes never overlap; a change during a pass runs one more.
 */
@Injectable()
export class RuntimeRebalancer {
  private readonly logger = new Logger('RuntimeRebalancer');
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly placement: RuntimePlacement,
    private readonly lifecycle: LifecycleSaga,
    private readonly replacements: ReplacementSaga,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
  ) {}

  start(): void {
    this.unsubscribe = this.placement.onChange(() => this.request());
    this.timer = setInterval(() => this.request(), this.config.RUNTIME_RESYNC_MS);
    this.timer.unref();
    // The partitions may have moved between boot's recovery and now.
    this.request();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.again = false;
    await this.running;
  }

  private request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
  }

  private async pass(): Promise<void> {
    try {
      await this.lifecycle.rebalance(await this.replacements.desiredProtons());
      await this.replacements.resume();
    } catch (error) {
      this.logger.warn(`runtime rebalance failed (next pass in ${this.config.RUNTIME_RESYNC_MS} ms): ${error instanceof Error ? error.message : error}`);
    }
  }
}
