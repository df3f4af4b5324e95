import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, module, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

@module({ noSplit: true })
class Block extends Module {
  proj = new Linear(64, 64);
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(this.proj.forward(x));
  }
}

class Net extends Module {
  blocks = new ModuleList([new Block(), new Block()]);
  forward(x: tf.Tensor): tf.Tensor {
    for (const b of this.blocks) x = b.forward(x);
    return x;
  }
}

const net = new Net();
console.log(net.namedParameters().map(([path]) => path));
// ['blocks.0.proj.weight', 'blocks.0.proj.bias', 'blocks.1.proj.weight', 'blocks.1.proj.bias']
console.log(net.getSubmodule('blocks.1').constructor.name); // 'Block': the second one
console.log(net.memoryFootprint());        // { device: 33280, host: 0, disk: 0 }
console.log(net.toString());               // the tree with classes and bytes
net.dispose();
