import { runService } from '@mercado/service-kit';
import { reviewsService } from './index.ts';

await runService(reviewsService);
