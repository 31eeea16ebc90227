import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DomainErrorFilter } from './http/domain-error.filter';
import { LogsController } from './logs/logs.controller';
import { LogsService } from './logs/logs.service';
import { StatsController } from './stats/stats.controller';
import { StatsService } from './stats/stats.service';

/** HTTP wiring only: the services are built (and closed) by createTelemetryService. */
@Module({})
export class TelemetryModule {
  static register(stats: StatsService, logs: LogsService): DynamicModule {
    return {
      module: TelemetryModule,
      controllers: [StatsController, LogsController],
      providers: [
        { provide: StatsService, useValue: stats },
        { provide: LogsService, useValue: logs },
        { provide: APP_FILTER, useClass: DomainErrorFilter },
      ],
    };
  }
}
