// Unit and integration suites. The end-to-end suite has its own config (jest.e2e.config.js).
export default {
  testEnvironment: 'node',
  // One cache per checkout: a shared /tmp cache let one clone's stale transforms break another's.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  roots: ['<rootDir>/test'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.tsx?$': ['ts-jest', { useESM: true }] },
  testTimeout: 30000,
};
