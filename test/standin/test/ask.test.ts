/**
 * The demo's asker: `--ask NAME=FILE.wav` adds a speaker beside the others who speaks now and then
 * (`--ask-every`, a per-speaker `pauseMs`); autoplay keeps that speaker's own pause between passes.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ASK_EVERY_S, parseStandinFlags } from '../src/cli.ts';
import { startStandin, type Standin } from '../src/standin.ts';

const AUDIO = fileURLToPath(new URL('../../fixtures/audio/', import.meta.url));
const QUESTION = join(AUDIO, 'dana_question_22k.wav');
const CAROL = join(AUDIO, 'carol_48k.wav');

let standin: Standin | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

describe('promethean standin --ask', () => {
  it('adds the asker beside the fixture speakers (or the --speaker ones) with its own pause', () => {
    const withFixtures = parseStandinFlags(['--ask', `dana=${QUESTION}`]).options.speakers;
    expect(withFixtures.map((s) => s.name)).toEqual(['jfk', 'alice', 'bob', 'carol', 'dana']);
    expect(withFixtures.at(-1)).toEqual({ name: 'dana', file: QUESTION, pauseMs: DEFAULT_ASK_EVERY_S * 1000 });
    expect(withFixtures.slice(0, 4).every((s) => s.pauseMs === undefined)).toBe(true);

    const withSpeaker = parseStandinFlags(['--speaker', `carol=${CAROL}`, '--ask', `dana=${QUESTION}`, '--ask-every', '20']).options.speakers;
    expect(withSpeaker).toEqual([{ name: 'carol', file: CAROL }, { name: 'dana', file: QUESTION, pauseMs: 20_000 }]);
  });

  it('--pause-s sets the other speakers\' pause between passes (the stand-in default without it)', () => {
    expect(parseStandinFlags(['--pause-s', '8']).options.loopPauseMs).toBe(8000);
    expect('loopPauseMs' in parseStandinFlags([]).options).toBe(false);
    expect(() => parseStandinFlags(['--pause-s=-1'])).toThrow(/--pause-s must be a number from 0 to 3600/);
  });

  it.each([
    [['--ask', 'dana'], /--ask must be NAME=FILE.wav/],
    [['--ask', 'dana=/nonexistent.wav'], /--ask dana: file not found/],
    [['--speaker', `carol=${CAROL}`, '--ask', `carol=${QUESTION}`], /--ask carol: the name is taken/],
    [['--ask', `dana=${QUESTION}`, '--ask-every', '2'], /--ask-every must be a number from 5 to 3600/],
  ])('parseStandinFlags(%j) throws a bad_flag error', (argv, message) => {
    expect(() => parseStandinFlags(argv)).toThrow(message);
  });

  it('rejects a speaker pauseMs out of range with a StandinConfigError', async () => {
    await expect(startStandin({ speakers: [{ name: 'dana', file: QUESTION, pauseMs: -1 }] })).rejects.toThrow(/pauseMs must be within/);
  });

  it('autoplay pauses each speaker by its own pauseMs between passes (RTP time follows the pause)', async () => {
    standin = await startStandin({
      speakers: [{ name: 'dana', file: QUESTION, pauseMs: 2000 }, { name: 'carol', file: CAROL }],
      autoplay: true,
      loop: true,
      loopPauseMs: 100,
      timeScale: 0.25,
    });
    // Per speaker: the RTP timestamp of each talk-spurt's first frame and of the last frame before it.
    const spurts = new Map<string, Array<{ start: number; before: number | undefined }>>();
    const last = new Map<string, number>();
    const done = new Promise<void>((resolve) => {
      standin!.speakers.on('frame', (f) => {
        const name = f.speaker.name;
        if (f.marker) {
          const list = spurts.get(name) ?? [];
          list.push({ start: f.timestamp, before: last.get(name) });
          spurts.set(name, list);
        }
        last.set(name, f.timestamp);
        if ((spurts.get('dana')?.length ?? 0) >= 2 && (spurts.get('carol')?.length ?? 0) >= 2) resolve();
      });
    });
    await done;
    // The gap between the last frame of a pass (its fifth silence frame) and the next spurt, in ms.
    const gapMs = (name: string) => {
      const second = spurts.get(name)![1]!;
      return ((second.start - second.before!) >>> 0) / 48 - 20;
    };
    expect(gapMs('dana')).toBeGreaterThanOrEqual(2000 - 20);
    expect(gapMs('dana')).toBeLessThanOrEqual(2000 + 20);
    expect(gapMs('carol')).toBeGreaterThanOrEqual(100 - 20);
    expect(gapMs('carol')).toBeLessThanOrEqual(100 + 20);
  });
});
