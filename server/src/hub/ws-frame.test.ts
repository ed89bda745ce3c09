import { describe, expect, it } from 'vitest';
// ws's own frame builder is the reference: the hub's frames must be byte-identical to what ws sends.
import * as ws from 'ws';
import { encodeServerFrame } from './ws-frame.ts';

type FrameFn = (data: Buffer, options: Record<string, unknown>) => (Buffer | string)[];
const { Sender } = ws as unknown as { Sender: { frame: FrameFn } };

function reference(payload: Buffer, binary: boolean): Buffer {
  const list = Sender.frame(payload, { fin: true, opcode: binary ? 2 : 1, mask: false, readOnly: false, rsv1: false });
  return Buffer.concat(list.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

describe('encodeServerFrame()', () => {
  for (const length of [0, 1, 125, 126, 127, 1920, 65535, 65536, 70_000, 1024 * 1024]) {
    for (const binary of [false, true]) {
      it(`matches ws's own framing for a ${length}-byte ${binary ? 'binary' : 'text'} message`, () => {
        const payload = Buffer.alloc(length);
        for (let i = 0; i < length; i++) payload[i] = (i * 31 + 7) & 0xff;
        expect(encodeServerFrame(payload, binary).equals(reference(payload, binary))).toBe(true);
      });
    }
  }
});
