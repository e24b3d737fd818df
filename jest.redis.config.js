/**
 * `npm run test:redis`: the tests that need a real redis-server (Debian's package, started by each
 * test on a free port). The main config leaves them out, so `npm test` needs nothing but Node.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/packages/redis', '<rootDir>/test/redis'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 30000,
};
