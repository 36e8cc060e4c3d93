/** The catalog service has no variables of its own (every service's common ones come from service-kit). */
export const catalogEnvironment = {};
