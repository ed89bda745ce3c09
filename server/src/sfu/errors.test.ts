import { describe, expect, it } from 'vitest';
import { InvalidStateError, PrometheanError } from '@promethean/shared';
import { fromWireError, IdInUseError, SfuDiedError, SfuError, SfuOptionsError, SfuTimeoutError, SsrcInUseError, toWireError } from './errors.ts';

describe('SFU errors', () => {
  it('IdInUseError and SsrcInUseError are the shared InvalidStateError under their own names', () => {
    const reference = new InvalidStateError('reference');
    for (const [make, name] of [
      [(m: string, o?: { cause?: unknown }) => new IdInUseError(m, o), 'IdInUseError'],
      [(m: string, o?: { cause?: unknown }) => new SsrcInUseError(m, o), 'SsrcInUseError'],
    ] as const) {
      const cause = new Error('below');
      const error = make('taken', { cause });
      expect(error).toBeInstanceOf(InvalidStateError);
      expect(error).toMatchObject({ name, code: reference.code, message: 'taken', cause, path: undefined });
    }
  });

  it('SfuDiedError and SfuTimeoutError are SfuErrors (code internal unless given) under their own names', () => {
    const cause = new Error('exit');
    expect(new SfuDiedError('gone', { cause })).toMatchObject({ name: 'SfuDiedError', code: 'internal', message: 'gone', cause });
    expect(new SfuTimeoutError('slow')).toMatchObject({ name: 'SfuTimeoutError', code: 'internal', message: 'slow' });
    expect(new SfuTimeoutError('slow', { code: 'timeout' }).code).toBe('timeout');
    expect(new SfuDiedError('gone')).toBeInstanceOf(SfuError);
    expect(new SfuTimeoutError('slow')).toBeInstanceOf(PrometheanError);
  });

  it('fromWireError(toWireError(e)) rebuilds the class, message, code and path of the errors the media process sends', () => {
    for (const error of [new InvalidStateError('closed'), new IdInUseError('id'), new SsrcInUseError('ssrc'), new SfuOptionsError('bad', 'listenIp')]) {
      const back = fromWireError(toWireError(error));
      expect(back.constructor).toBe(error.constructor);
      expect(back).toMatchObject({ name: error.name, code: error.code, message: error.message, path: error.path });
    }
    const other = fromWireError(toWireError(new SfuError('refused', { code: 'schema' })));
    expect(other).toBeInstanceOf(SfuError);
    expect(other).toMatchObject({ code: 'schema', message: 'refused' });
    expect(toWireError(new TypeError('boom'))).toEqual({ name: 'SfuError', code: 'internal', message: 'TypeError: boom' });
  });
});
