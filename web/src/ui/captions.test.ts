/**
 * Partial → final in the console: the transcript model fed envelopes as the STT worker sends them
 * (checked against the shared schema), then the caption under the speaker and the transcript panel's
 * lines read from it. The caption is a Preact element; no DOM here, so the test reads the element's
 * props and text (what Preact would render).
 */
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '@promethean/shared';
import type { VNode } from 'preact';
import type { BusEnvelope } from '../net/bus.ts';
import { captionsOf, createTranscripts } from '../state/transcripts.ts';
import { Caption, CAPTION_HOLD_MS } from './captions.ts';
import { panelLines } from './transcript-panel.ts';

const ALICE = '278993410011578368';
const BOB = '301182918822395904';

let seq = 0;
function transcript(over: Record<string, unknown>): BusEnvelope {
  seq++;
  const payload = {
    session_id: 'v1', segment_id: 'seg-a', speaker: ALICE, text: '', ts_start_ns: '1000000000', ts_end_ns: '2000000000',
    confidence: 0.9, tokens: 2, latency_ms: 300, final: true, ...over,
  };
  const env = { id: `0192f3a0-0000-7000-8000-${String(seq).padStart(12, '0')}`, ts: '2026-12-01T06:00:00.000Z', src: 'stt', dst: 'promethean.p.discord.t.demo.duck.transcript.segment', provider: 'discord', tenant: 'demo', intent: 'duck.transcript.segment', payload };
  parseEnvelope(structuredClone(env));
  return env;
}

/** The text Preact would render for an element tree (strings and numbers of every child, in order). */
function textOf(node: unknown): string {
  if (node === null || node === undefined || typeof node === 'boolean') return '';
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  return textOf((node as VNode<{ children?: unknown }>).props.children);
}

/** The caption element under `speaker`'s tile at `now`. */
function caption(model: ReturnType<typeof createTranscripts>, speaker: string, now: number) {
  const line = captionsOf(model.state.value.sessions.v1, now, CAPTION_HOLD_MS)[speaker];
  const el = Caption({ line, name: speaker === ALICE ? 'Alice' : 'Bob' }) as VNode<Record<string, unknown>>;
  return { className: String(el.props.class), final: el.props['data-final'], segment: el.props['data-segment-id'], text: textOf(el) };
}

describe('captions: partial → final', () => {
  it('shows partials in the lighter style under the speaker, then the final in their place; the panel lists the final only', () => {
    const model = createTranscripts();
    expect(model.receive(transcript({ text: 'ask not', final: false, ts_end_ns: '1500000000' }), 1000)).toBe('added');
    let c = caption(model, ALICE, 1000);
    expect(c).toMatchObject({ final: 'false', segment: 'seg-a', text: 'Alice: ask not' });
    expect(c.className.split(' ')).toEqual(['caption', 'is-partial']);
    expect(panelLines(model.state.value.sessions.v1)).toEqual([]);

    expect(model.receive(transcript({ text: 'ask not what your', final: false, ts_end_ns: '1800000000' }), 2000)).toBe('replaced');
    c = caption(model, ALICE, 2000);
    expect(c).toMatchObject({ final: 'false', text: 'Alice: ask not what your' });

    expect(model.receive(transcript({ text: 'Ask not what your country can do.' }), 3000)).toBe('replaced');
    c = caption(model, ALICE, 3000);
    expect(c).toMatchObject({ final: 'true', segment: 'seg-a', text: 'Alice: Ask not what your country can do.' });
    expect(c.className.split(' ')).toEqual(['caption']);
    const lines = panelLines(model.state.value.sessions.v1);
    expect(lines.map((l) => [l.segment_id, l.text, l.final])).toEqual([['seg-a', 'Ask not what your country can do.', true]]);
    // Bob said nothing: his tile's caption is empty.
    expect(caption(model, BOB, 3000)).toMatchObject({ className: 'caption', final: undefined, text: '' });
  });

  it('ignores a partial arriving after its final: the caption and the panel keep the final', () => {
    const model = createTranscripts();
    model.receive(transcript({ segment_id: 'seg-b', text: 'he was not an ill disposed young man' }), 1000);
    expect(model.receive(transcript({ segment_id: 'seg-b', text: 'he was not an', final: false }), 1100)).toBe('late_partial');
    expect(model.counters.outcomes.late_partial).toBe(1);
    expect(caption(model, ALICE, 1200)).toMatchObject({ final: 'true', text: 'Alice: he was not an ill disposed young man' });
    expect(panelLines(model.state.value.sessions.v1).map((l) => l.text)).toEqual(['he was not an ill disposed young man']);
  });

  it('lists finals in spoken order while a later segment is still a partial', () => {
    const model = createTranscripts();
    model.receive(transcript({ segment_id: 'a1', text: 'first', ts_start_ns: '1000000000', ts_end_ns: '2000000000' }), 1000);
    model.receive(transcript({ segment_id: 'b1', speaker: BOB, text: 'still talk', final: false, ts_start_ns: '3000000000', ts_end_ns: '4000000000' }), 1001);
    model.receive(transcript({ segment_id: 'a2', text: 'third', ts_start_ns: '5000000000', ts_end_ns: '6000000000' }), 1002);
    expect(panelLines(model.state.value.sessions.v1).map((l) => l.segment_id)).toEqual(['a1', 'a2']);
    expect(caption(model, BOB, 1003)).toMatchObject({ final: 'false', text: 'Bob: still talk' });
    expect(panelLines(undefined)).toEqual([]);
  });
});
