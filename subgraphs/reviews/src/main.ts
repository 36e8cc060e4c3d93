import { runService } from '@mercado/service-kit';
import { environment } from './environment.ts';
import { reviewsService } from './index.ts';

await runService(reviewsService, environment);
