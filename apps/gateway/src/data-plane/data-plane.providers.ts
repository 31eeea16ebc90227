import type { Provider } from '@nestjs/common';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { CONFIG, GatewayConfig } from '../config';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { DataPlaneRoutes } from './data-plane.routes';
import { ConcurrencyMeter } from './concurrency.meter';
import { DataPlaneMetrics } from './data-plane.metrics';
import { ReplicaForwarder } from './replica.forwarder';
import { HttpReplicaRouter, REPLICA_ROUTER, ReplicaRouter } from './replica-router';
import { RouteInvalidation } from './route-invalidation';
import { RequestRecorder } from './request-recorder';
import { StandbyHolder } from './standby-holder';

/** Everything the data plane needs; GatewayModule also provides AuthGuard as a class. */
export const dataPlaneProviders: Provider[] = [
  {
    provide: REPLICA_ROUTER,
    useFactory: (workloads: InternalClient, config: GatewayConfig) => new HttpReplicaRouter(workloads, config),
    inject: [WORKLOAD_SERVICE, CONFIG],
  },
  {
    provide: RequestRecorder,
    useFactory: (bus: MessageBus, config: GatewayConfig) =>
      new RequestRecorder(bus, {
        bufferLimit: config.REQUEST_RECORDS_BUFFER,
        batchSize: config.REQUEST_RECORDS_BATCH,
        flushIntervalMs: config.REQUEST_RECORDS_FLUSH_MS,
      }),
    inject: [MESSAGE_BUS, CONFIG],
  },
  {
    provide: DataPlaneMetrics,
    useFactory: (config: GatewayConfig) => new DataPlaneMetrics(config.METRICS_WORKLOAD_LABELS),
    inject: [CONFIG],
  },
  {
    provide: ConcurrencyMeter,
    useFactory: (bus: MessageBus, config: GatewayConfig) => new ConcurrencyMeter(bus, { sampleMs: config.DATA_PLANE_CONCURRENCY_SAMPLE_MS }),
    inject: [MESSAGE_BUS, CONFIG],
  },
  {
    provide: ReplicaForwarder,
    useFactory: (config: GatewayConfig, recorder: RequestRecorder, router: ReplicaRouter, metrics: DataPlaneMetrics, meter: ConcurrencyMeter) => new ReplicaForwarder(config, recorder, router, metrics, meter),
    inject: [CONFIG, RequestRecorder, REPLICA_ROUTER, DataPlaneMetrics, ConcurrencyMeter],
  },
  {
    provide: StandbyHolder,
    // The hold's demand goes through the meter's `publishNow`: it keeps `held` in its level and publishes at once.
    useFactory: (config: GatewayConfig, router: ReplicaRouter, forwarder: ReplicaForwarder, meter: ConcurrencyMeter, metrics: DataPlaneMetrics) => new StandbyHolder(config, router, forwarder, meter, metrics),
    inject: [CONFIG, REPLICA_ROUTER, ReplicaForwarder, ConcurrencyMeter, DataPlaneMetrics],
  },
  DataPlaneRoutes,
  RouteInvalidation,
];
