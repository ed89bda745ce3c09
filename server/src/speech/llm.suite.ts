/** The conformance suite every `Llm` driver runs. */
import { describe, expect, it } from 'vitest';
import type { Llm } from './types.ts';

export interface LlmSuiteOptions {
  create(): Promise<Llm> | Llm;
}

const QUESTION = [
  { role: 'system' as const, content: 'You are Duck, a voice bot in a game chat. Answer in one short sentence.' },
  { role: 'user' as const, content: 'Duck, what colour is the sky on a clear day?' },
];

export function runLlmSuite(name: string, options: LlmSuiteOptions): void {
  describe(`Llm conformance: ${name}`, () => {
    it('temperature 0 gives the same answer to the same request', async () => {
      const llm = await options.create();
      const a = await llm.complete({ messages: QUESTION, temperature: 0, maxTokens: 24 });
      const b = await llm.complete({ messages: QUESTION, temperature: 0, maxTokens: 24 });
      expect(a.text.length).toBeGreaterThan(0);
      expect(b.text).toBe(a.text);
      expect(a.models[0]!.engine).not.toBe('');
      expect(a.models[0]!.model).not.toBe('');
      expect(a.promptTokens).toBeGreaterThan(10);
    });

    it('maxTokens bounds the answer and finishReason says so', async () => {
      const llm = await options.create();
      const c = await llm.complete({ messages: [{ role: 'user', content: 'Count from one to one hundred, in words, separated by commas.' }], temperature: 0, maxTokens: 5 });
      expect(c.completionTokens).toBeGreaterThan(0);
      expect(c.completionTokens).toBeLessThanOrEqual(5);
      expect(c.finishReason).toBe('length');
      expect(c.tokensPerSecond).toBeGreaterThan(0);
    });

    it('complete() rejects an empty conversation with a 400', async () => {
      const llm = await options.create();
      await expect(llm.complete({ messages: [], temperature: 0 })).rejects.toMatchObject({ status: 400 });
    });
  });
}
