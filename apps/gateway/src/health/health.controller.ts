import { Controller, Get, Inject, Query } from '@nestjs/common';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { z } from 'zod';
import { Public } from '../http/decorators';
import { InternalClient, TELEMETRY_SERVICE, WORKLOAD_SERVICE } from '../http/internal.client';
import { parseOr422 } from '../http/validation';
import { openApiDocument } from './openapi.document';

@Controller('api/v2')
export class HealthController {
  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(TELEMETRY_SERVICE) private readonly telemetry: InternalClient,
  ) {}

  /** Liveness for load balancers: always 200 while the gateway serves; components say what is degraded. */
  @Public()
  @Get('health')
  async health(@Query() query: unknown) {
    parseOr422(z.strictObject({}), query, 'query');
    const [bus, workloadService, telemetryService] = await Promise.all([this.bus.ping(), this.workloads.ping(), this.telemetry.ping()]);
    const state = (ok: boolean) => (ok ? 'ok' : 'down');
    return { status: 'ok', components: { messageBus: state(bus), workloadService: state(workloadService), telemetryService: state(telemetryService) } };
  }

  @Public()
  @Get('openapi.json')
  openapi() {
    return openApiDocument();
  }
}
