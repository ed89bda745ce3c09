import { describe, expect, it } from 'vitest';
import { createStore, parseStoreConfig, storeConfigFromEnv } from './config.ts';
import { DEFAULT_PGLITE_DATA_DIR } from './pglite.ts';
import { StoreConfigError } from './errors.ts';

describe('store config', () => {
  it('parseStoreConfig() fills defaults: PGlite under <project>/.data/pglite, migrations on', () => {
    const c = parseStoreConfig({});
    expect(c).toEqual({ dataDir: DEFAULT_PGLITE_DATA_DIR, migrate: true, batchSize: 5000, maxConnections: 10 });
    expect(DEFAULT_PGLITE_DATA_DIR.endsWith('/.data/pglite')).toBe(true);
  });

  it.each(['mysql://h/db', 'not a url', 'postgres://host', 'http://host/db'])(
    'storeConfigFromEnv() rejects DATABASE_URL=%s with StoreConfigError naming DATABASE_URL',
    (url) => {
      const err = (() => {
        try {
          return storeConfigFromEnv({ DATABASE_URL: url });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(StoreConfigError);
      expect((err as StoreConfigError).path).toBe('DATABASE_URL');
      expect((err as StoreConfigError).code).toBe('bad_config');
      expect((err as Error).message).toContain('DATABASE_URL');
    },
  );

  it('storeConfigFromEnv() accepts postgres:// and postgresql:// URLs and treats an empty DATABASE_URL as unset', () => {
    expect(storeConfigFromEnv({ DATABASE_URL: 'postgres://u:p@db:5432/app' }).databaseUrl).toBe('postgres://u:p@db:5432/app');
    expect(storeConfigFromEnv({ DATABASE_URL: 'postgresql://db/app' }).databaseUrl).toBe('postgresql://db/app');
    expect(storeConfigFromEnv({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
  });

  it('parseStoreConfig() rejects unknown fields and a bad batch size, naming the field', () => {
    expect(() => parseStoreConfig({ batchSize: 0 })).toThrow(expect.objectContaining({ path: 'batchSize' }));
    expect(() => parseStoreConfig({ databseUrl: 'postgres://h/db' })).toThrow(StoreConfigError);
  });

  it('createStore() without databaseUrl opens a migrated PGlite store', async () => {
    const store = await createStore({ dataDir: 'memory://' });
    try {
      expect(store.driver).toBe('pglite');
      expect(store.capabilities.vector).toBe(true);
      expect(await store.countMessages({ provider: 'discord', tenant: 'demo' })).toBe(0);
    } finally {
      await store.close();
    }
  });
});
