/**
 * Draws every speaker's scrolling spectrogram on one WebGL2 canvas (one context for all speakers:
 * browsers cap live WebGL contexts at ~16 per page). Per speaker one R8 texture holds the visible
 * window as a ring of columns; a new column is one `texSubImage2D` of `rows` bytes, and the shader
 * unrolls the ring (`offset`) and maps bytes through a 256×1 colour table. Rows are drawn top to
 * bottom in layout order, each in its own viewport. No DOM work per frame.
 */
import { colormap, type ColormapName } from './colormap.ts';

const VS = `#version 300 es
in vec2 pos;
out vec2 uv;
void main() { uv = pos * 0.5 + 0.5; gl_Position = vec4(pos, 0.0, 1.0); }`;

const FS = `#version 300 es
precision highp float;
in vec2 uv;
uniform sampler2D cols;
uniform sampler2D lut;
uniform float offset;
uniform float width;
out vec4 color;
void main() {
  // Oldest column (at the ring's write position) on the left, newest on the right.
  float x = fract(offset / width + uv.x);
  float v = texture(cols, vec2(x, uv.y)).r;
  color = texture(lut, vec2(v, 0.5));
}`;

interface Lane {
  tex: WebGLTexture;
  /** Ring write position (the next column goes here). */
  head: number;
}

export class SpectroGl {
  readonly gl: WebGL2RenderingContext;
  readonly columns: number;
  readonly rows: number;
  readonly #program: WebGLProgram;
  readonly #lut: WebGLTexture;
  readonly #lanes = new Map<string, Lane>();
  readonly #u: { cols: WebGLUniformLocation | null; lut: WebGLUniformLocation | null; offset: WebGLUniformLocation | null; width: WebGLUniformLocation | null };
  readonly #zero: Uint8Array;

  constructor(canvas: OffscreenCanvas | HTMLCanvasElement, columns: number, rows: number, map: ColormapName = 'magma') {
    const gl = canvas.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true, alpha: false }) as WebGL2RenderingContext | null;
    if (!gl) throw new Error('this browser has no WebGL2');
    this.gl = gl;
    this.columns = columns;
    this.rows = rows;
    this.#zero = new Uint8Array(columns * rows);
    this.#program = link(gl, VS, FS);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(this.#program, 'pos');
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    this.#u = {
      cols: gl.getUniformLocation(this.#program, 'cols'),
      lut: gl.getUniformLocation(this.#program, 'lut'),
      offset: gl.getUniformLocation(this.#program, 'offset'),
      width: gl.getUniformLocation(this.#program, 'width'),
    };
    this.#lut = gl.createTexture()!;
    this.setColormap(map);
  }

  setColormap(map: ColormapName): void {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.#lut);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, colormap(map));
    nearest(gl);
  }

  /** Appends `count` columns (`rows` bytes each, low frequency first) to a speaker's lane. */
  push(id: string, data: Uint8Array, count: number): void {
    const lane = this.#lane(id);
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, lane.tex);
    for (let c = 0; c < count; c++) {
      // A column is one texel wide and `rows` high: x = ring position, y = frequency row.
      gl.texSubImage2D(gl.TEXTURE_2D, 0, lane.head, 0, 1, this.rows, gl.RED, gl.UNSIGNED_BYTE, data.subarray(c * this.rows, (c + 1) * this.rows));
      lane.head = (lane.head + 1) % this.columns;
    }
  }

  /** Replaces a lane's whole window (scrubbing): `columns` columns, oldest first, column-major. */
  replace(id: string, columnMajor: Uint8Array): void {
    const lane = this.#lane(id);
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, lane.tex);
    // Column-major bytes (column c's rows together) are a rows×columns image; transpose to texel order.
    const img = new Uint8Array(this.columns * this.rows);
    for (let c = 0; c < this.columns; c++) for (let r = 0; r < this.rows; r++) img[r * this.columns + c] = columnMajor[c * this.rows + r]!;
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, this.columns, this.rows, gl.RED, gl.UNSIGNED_BYTE, img);
    lane.head = 0;
  }

  remove(id: string): void {
    const lane = this.#lanes.get(id);
    if (!lane) return;
    this.gl.deleteTexture(lane.tex);
    this.#lanes.delete(id);
  }

  /** Draws the lanes in `order`, each `laneHeight` device pixels high with `gap` between, top first. */
  draw(order: readonly string[], width: number, laneHeight: number, gap: number): void {
    const gl = this.gl;
    const height = gl.drawingBufferHeight;
    gl.viewport(0, 0, gl.drawingBufferWidth, height);
    gl.clearColor(0.06, 0.07, 0.09, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.#program);
    gl.uniform1i(this.#u.cols, 0);
    gl.uniform1i(this.#u.lut, 1);
    gl.uniform1f(this.#u.width, this.columns);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.#lut);
    gl.activeTexture(gl.TEXTURE0);
    order.forEach((id, i) => {
      const lane = this.#lanes.get(id);
      if (!lane) return;
      const y = height - (i + 1) * laneHeight - i * gap;
      if (y + laneHeight <= 0) return;
      gl.viewport(0, y, width, laneHeight);
      gl.bindTexture(gl.TEXTURE_2D, lane.tex);
      gl.uniform1f(this.#u.offset, lane.head);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    });
  }

  #lane(id: string): Lane {
    let lane = this.#lanes.get(id);
    if (lane) return lane;
    const gl = this.gl;
    const tex = gl.createTexture()!;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, this.columns, this.rows, 0, gl.RED, gl.UNSIGNED_BYTE, this.#zero);
    nearest(gl);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.REPEAT);
    lane = { tex, head: 0 };
    this.#lanes.set(id, lane);
    return lane;
  }
}

function nearest(gl: WebGL2RenderingContext): void {
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
}

function link(gl: WebGL2RenderingContext, vs: string, fs: string): WebGLProgram {
  const make = (type: number, src: string) => {
    const s = gl.createShader(type)!;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s) ?? 'did not compile'}`);
    return s;
  };
  const p = gl.createProgram()!;
  gl.attachShader(p, make(gl.VERTEX_SHADER, vs));
  gl.attachShader(p, make(gl.FRAGMENT_SHADER, fs));
  gl.bindAttribLocation(p, 0, 'pos');
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(p) ?? 'did not link'}`);
  return p;
}
