import { Controller, Get, Inject, Query } from '@nestjs/common';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { RequestRecorder } from '../data-plane/request-recorder';
import { InternalClient, TELEMETRY_SERVICE, WORKLOAD_SERVICE } from '../http/internal.client';
import { NoQuery, parseOr422 } from '../http/validation';
import { API_VERSION } from '../openapi/openapi.document';

@Controller('api/v2')
export class HealthController {
  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(TELEMETRY_SERVICE) private readonly telemetry: InternalClient,
    private readonly recorder: RequestRecorder,
  ) {}

  /** Liveness for load balancers (public in ROUTE_POLICY): always 200 while the gateway serves; components say what is degraded. */
  @Get('health')
  async health(@Query() query: unknown) {
    parseOr422(NoQuery, query, 'query');
    const [bus, workloadService, telemetryService] = await Promise.all([this.bus.ping(), this.workloads.health(), this.telemetry.ping()]);
    const state = (ok: boolean) => (ok ? 'ok' : 'down');
    const { buffered, dropped, publishFailures } = this.recorder.stats();
    return {
      status: 'ok',
      components: {
        messageBus: state(bus),
        workloadService: state(workloadService !== null),
        // Commands the workload service set aside (dead-lettered) since it started.
        commands: { deadLettered: (workloadService?.commands as { deadLettered?: number } | undefined)?.deadLettered ?? null },
        // What the workload service's runtime enforces of resourceAllocation (memory, cpu), passed through.
        runtimeResources: (workloadService?.runtime as { resources?: unknown } | undefined)?.resources ?? null,
        telemetryService: state(telemetryService),
        requestRecords: { status: dropped > 0 ? 'dropping' : 'ok', buffered, dropped, publishFailures },
      },
    };
  }

  /**
   * What the public API's clients call to verify a token (the vendor CLI's `dr auth` and every
   * `dr workload` command do, before anything else): 200 for a valid token, 401 from the guard.
   */
  @Get('version')
  version(@Query() query: unknown) {
    parseOr422(NoQuery, query, 'query');
    return API_VERSION;
  }
}
