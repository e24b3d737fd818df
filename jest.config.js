/**
 * One Jest config for the monorepo. Tests import packages by name; `moduleNameMapper` points
 * those names at the TypeScript sources, so tests never depend on a stale build.
 *
 * jose 6 is ESM-only. Node loads it through require(esm), but Jest's module loader does not, so
 * ts-jest (with allowJs) transforms jose's `.js` to CommonJS, here and only here.
 */
/** @type {import('jest').Config} */
module.exports = {
  // Node, with console output held and shown only for a failing test (test/support/quiet-environment.js).
  testEnvironment: '<rootDir>/test/support/quiet-environment.js',
  roots: ['<rootDir>/packages', '<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/test/**/*.test.ts'],
  // The Redis suites need a redis-server: `npm run test:redis` (jest.redis.config.js) runs them.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/packages/redis/test/', '<rootDir>/test/redis/'],
  moduleNameMapper: {
    '^@scopeguard/(core|express|testing|nestjs|fastify|hono|koa|mcp|redis)$': '<rootDir>/packages/$1/src',
    '^@scopeguard/core/adapter$': '<rootDir>/packages/core/src/adapter',
    '^@scopeguard/nestjs/passport$': '<rootDir>/packages/nestjs/src/passport',
    '^@scopeguard/nestjs/swagger$': '<rootDir>/packages/nestjs/src/swagger',
    '^@scopeguard/nestjs/terminus$': '<rootDir>/packages/nestjs/src/terminus',
  },
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFilesAfterEnv: ['<rootDir>/test/support/unhandled-rejections.ts'],
  testTimeout: 20000,
};
