import * as tf from '@tensorflow/tfjs-core';

/**
 * An upload to tfjs' `webgl` backend that makes no host copy: the values go a piece at a time from one reused buffer
 * straight into a texture (texSubImage2D), which tfjs then turns into the tensor's own (tf.tensor of WebGL data,
 * its public way in). tfjs' own upload copies every weight into a new array of its size first (its dense RGBA
 * layout), which a tab's garbage collector frees late: on the zoo xl pipeline that garbage, not the weights, was
 * most of the Worker's heap. The texture comes from tfjs' texture manager, so memory.track and the pool hold see it.
 *
 * Read from tfjs-backend-webgl 4.22 and checked by shape: where the backend is not shaped as read here (another
 * version, WebGL 1), the caller uses the generic upload instead.
 */

/** The parts of tfjs-backend-webgl 4.22 used here. */
interface WebglBackend {
  gpgpu: { gl: WebGL2Context };
  textureManager: {
    acquireTexture(shapeRC: [number, number], usage: number, isPacked: boolean): { texture: object; texShape: [number, number] };
    releaseTexture(texture: { texture: object; texShape: [number, number] }, shape: [number, number], usage: number, isPacked: boolean): void;
  };
}

/** What of a WebGL2 context is used here (the DOM types are not in this project's lib). */
interface WebGL2Context {
  readonly TEXTURE_2D: number;
  readonly RGBA: number;
  readonly FLOAT: number;
  bindTexture(target: number, texture: object | null): void;
  texSubImage2D(target: number, level: number, x: number, y: number, width: number, height: number, format: number, type: number, data: Float32Array): void;
}

/** tfjs-backend-webgl's TextureUsage.UPLOAD: a PACKED_2X2_FLOAT32 texture, which holds dense RGBA values. */
const UPLOAD = 1;

function webglBackend(): WebglBackend | undefined {
  if (tf.getBackend() !== 'webgl' || tf.env().getNumber('WEBGL_VERSION') !== 2) return undefined;
  const b = tf.backend() as unknown as Partial<WebglBackend>;
  const gl = b.gpgpu?.gl;
  const tm = b.textureManager;
  if (typeof gl?.texSubImage2D !== 'function' || typeof tm?.acquireTexture !== 'function' || typeof tm.releaseTexture !== 'function') return undefined;
  return b as WebglBackend;
}

/**
 * The weight as a webgl tensor, its `size` values read by `readAt` a piece at a time into `buffer` (at most `bytes`
 * of it per piece), or undefined (nothing read) where this path does not apply: not webgl on WebGL2, a weight too
 * big for one texture, or a piece smaller than one row of the texture.
 */
export function webglTextureUpload(
  size: number,
  shape: number[],
  dtype: 'float32' | 'int32',
  readAt: (target: Uint8Array, byteOffset: number) => void,
  buffer: ArrayBuffer,
  bytes: number,
): tf.Tensor | undefined {
  const backend = webglBackend();
  if (backend === undefined || size === 0) return undefined;
  // Dense RGBA: texel i holds values 4i..4i+3; a near-square texture, as tfjs shapes its own.
  const texels = Math.ceil(size / 4);
  const max = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
  const width = Math.min(max, Math.ceil(Math.sqrt(texels)));
  const height = Math.ceil(texels / width);
  const rowsPerPiece = Math.floor(bytes / (width * 16));
  if (height > max || rowsPerPiece < 1) return undefined;
  const gl = backend.gpgpu.gl;
  const textureManager = backend.textureManager;
  // A PACKED_2X2 texture of [rows, cols] is ceil(cols / 2) × ceil(rows / 2) texels.
  const logical: [number, number] = [2 * height, 2 * width];
  const texture = textureManager.acquireTexture(logical, UPLOAD, false);
  try {
    if (texture.texShape[0] !== height || texture.texShape[1] !== width) return undefined;
    for (let y = 0; y < height; y += rowsPerPiece) {
      const rows = Math.min(rowsPerPiece, height - y);
      const first = y * width * 4;
      const count = rows * width * 4;
      const values = Math.max(0, Math.min(size - first, count));
      readAt(new Uint8Array(buffer, 0, values * 4), first * 4);
      const floats = new Float32Array(buffer, 0, count);
      // int32 values become floats in place (webgl holds every tensor as float); the texture's padding is zeros.
      if (dtype === 'int32') {
        const ints = new Int32Array(buffer, 0, values);
        for (let i = 0; i < values; i++) floats[i] = ints[i]!;
      }
      floats.fill(0, values);
      gl.bindTexture(gl.TEXTURE_2D, texture.texture);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, y, width, rows, gl.RGBA, gl.FLOAT, floats);
      gl.bindTexture(gl.TEXTURE_2D, null);
    }
    return tf.tensor({ texture: texture.texture as WebGLTextureLike, height, width, channels: 'RGBA' }, shape, dtype);
  } finally {
    // tfjs has copied it into the tensor's own texture (or the upload failed): back to tfjs' pool, or deleted while
    // an offloading strategy keeps the pools empty.
    textureManager.releaseTexture(texture, logical, UPLOAD, false);
  }
}

type WebGLTextureLike = Parameters<typeof tf.tensor>[0] extends infer V ? (V extends { texture: infer T } ? T : never) : never;
