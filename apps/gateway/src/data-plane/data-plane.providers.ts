import type { Provider } from '@nestjs/common';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { CONFIG, GatewayConfig } from '../config';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { DataPlaneRoutes } from './data-plane.routes';
import { DataPlaneMetrics } from './data-plane.metrics';
import { ReplicaForwarder } from './replica.forwarder';
import { HttpReplicaRouter, REPLICA_ROUTER, ReplicaRouter } from './replica-router';
import { RouteInvalidation } from './route-invalidation';
import { RequestRecorder } from './request-recorder';
import { BusHoldDemand, HOLD_DEMAND, HoldDemand } from './hold-demand';
import { HOLD_DEMAND_EVERY_MS, StandbyHolder } from './standby-holder';

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
    provide: ReplicaForwarder,
    useFactory: (config: GatewayConfig, recorder: RequestRecorder, router: ReplicaRouter, metrics: DataPlaneMetrics) => new ReplicaForwarder(config, recorder, router, metrics),
    inject: [CONFIG, RequestRecorder, REPLICA_ROUTER, DataPlaneMetrics],
  },
  // The seam the concurrency meter takes over (its `publishNow`), when it is there.
  {
    provide: HOLD_DEMAND,
    useFactory: (bus: MessageBus) => new BusHoldDemand(bus, HOLD_DEMAND_EVERY_MS),
    inject: [MESSAGE_BUS],
  },
  {
    provide: StandbyHolder,
    useFactory: (config: GatewayConfig, router: ReplicaRouter, forwarder: ReplicaForwarder, demand: HoldDemand, metrics: DataPlaneMetrics) => new StandbyHolder(config, router, forwarder, demand, metrics),
    inject: [CONFIG, REPLICA_ROUTER, ReplicaForwarder, HOLD_DEMAND, DataPlaneMetrics],
  },
  DataPlaneRoutes,
  RouteInvalidation,
];
