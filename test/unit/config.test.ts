import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_BASE_URL, REGION_BASE_URLS, loadConfig } from '../../src/config.js';
import { Secret } from '../../src/secret.js';

const KEY = 'sk_test_9f8e7d6c5b4a_NEVER_PRINT';

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('gives documented defaults and demo mode with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 4000,
      host: '0.0.0.0',
      mode: 'local',
      demo: true,
      upstream: {
        baseUrl: DEFAULT_BASE_URL,
        apiKey: undefined,
        connectTimeoutMs: 2_000,
        timeoutMs: 10_000,
        bodyTimeoutMs: 5_000,
        maxConcurrency: 4,
        maxQueue: 100,
        maxRetries: 2,
        cache: { maxBytes: 64 * 1024 * 1024, ttls: { terminalMs: 300_000, activeMs: 2_000, listMs: 2_000 } },
        circuit: { failureThreshold: 5, openMs: 5_000, maxOpenMs: 60_000 },
      },
      logLevel: 'info',
      graphiql: true,
      security: {
        tokens: [],
        jwt: undefined,
        allowAnonymous: true,
        rateLimit: { max: 600, windowMs: 60_000 },
        limits: { depth: 12, aliases: 15, tokens: 2_000, directives: 20, cost: 5_000, upstreamCalls: 50 },
        maxBodyBytes: 102_400,
        corsOrigins: [],
        introspection: true,
        blockFieldSuggestions: false,
        batchingLimit: 0,
        persistedOperations: undefined,
      },
      metrics: true,
      fastPath: true,
      shutdownGraceMs: 20_000,
      operationTimeoutMs: 15_000,
      aggregates: { filterPageBudget: 10, summaryPageBudget: 20, summaryTtlMs: 10_000 },
      live: { pollIntervalMs: 2_000, maxBackoffMs: 60_000, maxBatches: 100, maxSubscriptions: 1_000 },
    });
    expect(DEFAULT_BASE_URL).toBe('https://api.elevenlabs.io');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty and whitespace-only variables as unset', () => {
    const config = loadConfig({ ELEVENLABS_API_KEY: '   ', PORT: '', LOG_LEVEL: ' ', ELEVENLABS_REGION: '' });
    expect(config.demo).toBe(true);
    expect(config.upstream.apiKey).toBeUndefined();
    expect(config.port).toBe(4000);
    expect(config.logLevel).toBe('info');
    expect(config.upstream.baseUrl).toBe(DEFAULT_BASE_URL);
  });

  it('with a key: not demo, the key is a Secret holding the trimmed value', () => {
    const config = loadConfig({ ELEVENLABS_API_KEY: `  ${KEY}\n` });
    expect(config.demo).toBe(false);
    expect(config.upstream.apiKey).toBeInstanceOf(Secret);
    expect(config.upstream.apiKey?.reveal()).toBe(KEY);
  });

  it('reads every setting', () => {
    const config = loadConfig({
      PORT: '8080', HOST: '127.0.0.1', NODE_ENV: 'development', UPSTREAM_TIMEOUT_MS: '2500',
      UPSTREAM_MAX_CONCURRENCY: '15', UPSTREAM_MAX_RETRIES: '0', LOG_LEVEL: 'debug', ELEVENLABS_API_KEY: KEY,
    });
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.mode).toBe('development');
    expect(config.upstream).toMatchObject({ timeoutMs: 2500, maxConcurrency: 15, maxRetries: 0 });
    expect(config.logLevel).toBe('debug');
    expect(config.graphiql).toBe(true);
  });

  it.each([['production', 'production'], ['development', 'development'], ['test', 'local'], ['PRODUCTION', 'local']])(
    'NODE_ENV=%s gives mode %s',
    (nodeEnv, mode) => {
      expect(loadConfig({ NODE_ENV: nodeEnv, ELEVENLABS_API_KEY: KEY, GATEWAY_ALLOW_ANONYMOUS: 'true' }).mode).toBe(mode);
    },
  );

  it('production disables GraphiQL', () => {
    expect(loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: KEY }).graphiql).toBe(false);
  });

  it('accepts integer bounds inclusively', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ UPSTREAM_TIMEOUT_MS: '100' }).upstream.timeoutMs).toBe(100);
    expect(loadConfig({ UPSTREAM_TIMEOUT_MS: '600000' }).upstream.timeoutMs).toBe(600_000);
    expect(loadConfig({ UPSTREAM_MAX_CONCURRENCY: '256' }).upstream.maxConcurrency).toBe(256);
    expect(loadConfig({ UPSTREAM_MAX_RETRIES: '10' }).upstream.maxRetries).toBe(10);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '0' }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '600000' }).shutdownGraceMs).toBe(600_000);
    expect(loadConfig({ FILTER_PAGE_BUDGET: '1', SUMMARY_PAGE_BUDGET: '1000' }).aggregates).toMatchObject({ filterPageBudget: 1, summaryPageBudget: 1000 });
    expect(loadConfig({ SUMMARY_CACHE_TTL_MS: '0' }).aggregates.summaryTtlMs).toBe(0);
    expect(loadConfig({ LIVE_POLL_INTERVAL_MS: '10', LIVE_POLL_MAX_BACKOFF_MS: '10' }).live).toMatchObject({ pollIntervalMs: 10, maxBackoffMs: 10 });
  });

  it('refuses aggregate and live settings out of bounds, naming each', () => {
    const error = configError({ FILTER_PAGE_BUDGET: '0', SUMMARY_PAGE_BUDGET: 'x', LIVE_MAX_BATCHES: '0', LIVE_POLL_INTERVAL_MS: '5' });
    expect(error.problems.map((p) => p.split(' ')[0])).toEqual(['FILTER_PAGE_BUDGET', 'SUMMARY_PAGE_BUDGET', 'LIVE_POLL_INTERVAL_MS', 'LIVE_MAX_BATCHES']);
    expect(configError({ LIVE_POLL_INTERVAL_MS: '5000', LIVE_POLL_MAX_BACKOFF_MS: '1000' }).problems)
      .toEqual(['LIVE_POLL_MAX_BACKOFF_MS must be at least LIVE_POLL_INTERVAL_MS']);
  });
});

describe('loadConfig demo and production', () => {
  it('production without a key is refused', () => {
    const error = configError({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true' });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('ELEVENLABS_API_KEY is required');
  });

  it('production with a key is accepted', () => {
    const config = loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: KEY });
    expect(config.demo).toBe(false);
  });

  it('development without a key is demo mode', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).demo).toBe(true);
  });
});

describe('loadConfig base URL', () => {
  it.each(Object.entries(REGION_BASE_URLS))('region %s maps to %s', (region, url) => {
    expect(loadConfig({ ELEVENLABS_REGION: region }).upstream.baseUrl).toBe(url);
  });

  it('knows the three residency regions', () => {
    expect(REGION_BASE_URLS).toEqual({
      us: 'https://api.us.elevenlabs.io',
      eu: 'https://api.eu.residency.elevenlabs.io',
      in: 'https://api.in.residency.elevenlabs.io',
    });
  });

  it.each(['EU', 'de', 'us-east'])('rejects unknown region %s', (region) => {
    const error = configError({ ELEVENLABS_REGION: region });
    expect(error.problems).toEqual([`ELEVENLABS_REGION must be one of us, eu, in (got "${region}")`]);
  });

  it('refuses BASE_URL together with REGION', () => {
    const error = configError({ ELEVENLABS_REGION: 'eu', ELEVENLABS_BASE_URL: 'https://example.com' });
    expect(error.problems).toEqual(['set only one of ELEVENLABS_BASE_URL and ELEVENLABS_REGION']);
  });

  it.each([
    ['https://api.example.com', 'https://api.example.com'],
    ['https://api.example.com/', 'https://api.example.com'],
    ['https://API.Example.com:8443', 'https://api.example.com:8443'],
    ['http://localhost:5005', 'http://localhost:5005'],
  ])('accepts %s as origin %s', (raw, origin) => {
    expect(loadConfig({ ELEVENLABS_BASE_URL: raw }).upstream.baseUrl).toBe(origin);
  });

  it.each(['not a url', 'api.elevenlabs.io', '//api.elevenlabs.io'])('rejects non-URL %j', (raw) => {
    const error = configError({ ELEVENLABS_BASE_URL: raw });
    expect(error.problems).toEqual(['ELEVENLABS_BASE_URL must be an absolute http(s) URL']);
  });

  it.each([
    'ftp://api.example.com', 'file:///etc/passwd', 'https://api.example.com/v1', 'https://api.example.com/?x=1',
    'https://api.example.com/#frag', 'https://user:pass@api.example.com', 'https://user@api.example.com',
    'javascript:alert(1)',
  ])('rejects non-origin %s', (raw) => {
    const error = configError({ ELEVENLABS_BASE_URL: raw });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain('must be a bare origin');
    expect(error.message).not.toContain('pass@');
  });

  it('requires https in production', () => {
    const error = configError({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: KEY, ELEVENLABS_BASE_URL: 'http://api.example.com' });
    expect(error.problems).toEqual(['ELEVENLABS_BASE_URL must use https in production (the API key travels in a header)']);
  });

  it.each(['http://localhost:5005', 'http://127.0.0.1:5005', 'http://127.1.2.3', 'http://[::1]:5005', 'http://0x7f.1'])(
    'allows plain http to loopback %s in production',
    (raw) => {
      const config = loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: KEY, ELEVENLABS_BASE_URL: raw });
      expect(config.upstream.baseUrl.startsWith('http://')).toBe(true);
    },
  );

  it('allows plain http outside production', () => {
    expect(loadConfig({ ELEVENLABS_BASE_URL: 'http://api.example.com' }).upstream.baseUrl).toBe('http://api.example.com');
  });
});

describe('loadConfig bad values', () => {
  it.each([
    ['PORT', '-1'], ['PORT', '65536'], ['PORT', '80.5'], ['PORT', '1e3'], ['PORT', '0x50'], ['PORT', 'eighty'],
    ['PORT', '99999999999999999999'], ['UPSTREAM_TIMEOUT_MS', '99'], ['UPSTREAM_TIMEOUT_MS', '600001'],
    ['UPSTREAM_MAX_CONCURRENCY', '0'], ['UPSTREAM_MAX_CONCURRENCY', '257'], ['UPSTREAM_MAX_RETRIES', '11'],
    ['UPSTREAM_MAX_RETRIES', '+1'], ['SHUTDOWN_GRACE_MS', '600001'], ['SHUTDOWN_GRACE_MS', '-5'],
  ])('rejects %s=%s', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(new RegExp(`^${name} must be an integer from \\d+ to \\d+ \\(got "${value.replace(/[.+]/g, '\\$&')}"\\)$`));
  });

  it('rejects an unknown LOG_LEVEL', () => {
    const error = configError({ LOG_LEVEL: 'verbose' });
    expect(error.problems).toEqual(['LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")']);
  });

  it('lists every problem at once, one per line in the message', () => {
    const error = configError({
      NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', PORT: 'x', UPSTREAM_TIMEOUT_MS: '1', UPSTREAM_MAX_CONCURRENCY: '0',
      UPSTREAM_MAX_RETRIES: '99', LOG_LEVEL: 'loud', ELEVENLABS_BASE_URL: 'http://api.example.com',
    });
    expect(error.problems).toHaveLength(7);
    for (const name of ['ELEVENLABS_API_KEY', 'ELEVENLABS_BASE_URL', 'PORT', 'UPSTREAM_TIMEOUT_MS', 'UPSTREAM_MAX_CONCURRENCY', 'UPSTREAM_MAX_RETRIES', 'LOG_LEVEL']) {
      expect(error.problems.some((p) => p.startsWith(name))).toBe(true);
    }
    expect(error.name).toBe('ConfigError');
    expect(error.message.split('\n')).toHaveLength(8);
    expect(error.message.startsWith('Invalid configuration:\n  - ')).toBe(true);
  });

  it('never puts the API key in the error, whatever else is wrong', () => {
    const error = configError({
      NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: KEY, PORT: 'x', LOG_LEVEL: 'nope',
      ELEVENLABS_BASE_URL: 'http://evil.example.com', UPSTREAM_MAX_RETRIES: '-3',
    });
    expect(error.problems).toHaveLength(4);
    for (const text of [...error.problems, error.message, inspect(error.problems), JSON.stringify(error.problems)]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain('NEVER_PRINT');
    }
  });

  it('the API key is never in the error message nor in a printed config', () => {
    const error = configError({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', ELEVENLABS_API_KEY: KEY, ELEVENLABS_BASE_URL: 'http://x.example.com', LOG_LEVEL: 'loud' });
    expect(error.message).not.toContain(KEY);
    expect(inspect(error)).not.toContain(KEY);
    expect(JSON.stringify(error)).not.toContain(KEY);
    const config = loadConfig({ ELEVENLABS_API_KEY: KEY });
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(inspect(config, { depth: 10 })).not.toContain(KEY);
    expect(`${config.upstream.apiKey}`).toBe('[redacted]');
  });
});
