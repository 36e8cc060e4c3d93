import { runService } from '@mercado/service-kit';
import { catalogService } from './index.ts';

await runService(catalogService);
