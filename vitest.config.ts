import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships CJS (main) and ESM (module). Node, and yoga as an external dependency, load the
    // CJS build; vite would hand the project's own imports the ESM one, giving two GraphQLError
    // classes. Pin the project to the build Node uses, as in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real servers on port 0; files run in parallel processes.
    pool: 'forks',
  },
});
