import { Conv2d, torchLayoutOf, useBackend, type HostTensor } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const owner = new Conv2d(3, 8, 3); // device weight HWIO [3, 3, 3, 8]; PyTorch's is OIHW [8, 3, 3, 3]
const torchTensor: HostTensor = { data: new Float32Array(8 * 3 * 3 * 3), shape: [8, 3, 3, 3] };

const layout = torchLayoutOf(owner, 'weight');          // undefined when the layouts are identical
const device: HostTensor = layout ? layout.fromTorch(torchTensor) : torchTensor;  // on load
const torch: HostTensor = layout ? layout.toTorch(device) : device;               // on save
console.log(device.shape, torch.shape);                 // [3, 3, 3, 8] [8, 3, 3, 3]
owner.dispose();
