/**
 * Engines made once per scope and kept, bounded: what the workers' `*FromConfig` helpers (STT, TTS,
 * the voice LLM) do with speech.yml's per-(tenant, guild) choices. Written here because it is a
 * dozen lines over a `Map` (insertion order gives the oldest entry).
 */

/**
 * `make(scope)` once per `keyOf(scope)`, the result kept; past `max` kept entries the one made first
 * is dropped (made again if asked for later).
 */
export function boundedEngineCache<S, E>(max: number, keyOf: (scope: S) => string, make: (scope: S) => E): (scope: S) => E {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`boundedEngineCache: max must be a positive integer, got ${max}`);
  const made = new Map<string, E>();
  return (scope) => {
    const key = keyOf(scope);
    let engine = made.get(key);
    if (engine === undefined) {
      engine = make(scope);
      if (made.size >= max) made.delete(made.keys().next().value!);
      made.set(key, engine);
    }
    return engine;
  };
}
