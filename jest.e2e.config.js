// End-to-end suite: real registry, real containers, real load balancer (see e2e/README.md).
export default {
  testEnvironment: 'node',
  // One cache per checkout: a shared /tmp cache let one clone's stale transforms break another's.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  roots: ['<rootDir>/e2e'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.tsx?$': ['ts-jest', { useESM: true }] },
  testTimeout: 600000,
};
