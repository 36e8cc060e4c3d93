export { services } from '@mercado/system';
export { startInProcessStack, type InProcessStack } from './inProcessStack.ts';
