import { runService } from '@mercado/service-kit';
import { environment } from './environment.ts';
import { catalogService } from './index.ts';

await runService(catalogService, environment);
