import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applyGroupOffloading, useBackend, wrapLayersModel } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

/** A custom layer that reads its weight only with this.scale.read() in call(): safe to intercept. */
class MyLayer extends tfl.layers.Layer {
  static className = 'MyLayer';
  private scale!: tfl.LayerVariable;
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShape as tfl.Shape;
    this.scale = this.addWeight('scale', [shape[shape.length - 1]!], 'float32', tfl.initializers.ones());
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, this.scale.read());
  }
}

const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 8 }), new MyLayer({})] });
const root = wrapLayersModel(model, { trustLayers: ['MyLayer'] });
const handle = applyGroupOffloading(root, { offloadType: 'leaf_level' }); // MyLayer's weight is offloaded too
const x = tf.randomNormal([2, 8]);
const y = model.predict(x) as tf.Tensor;
handle.remove();
tf.dispose([x, y]);
model.dispose();
