import { Linear, ParameterNotResidentError, Sequential, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const net = new Sequential([new Linear(64, 64), new Linear(64, 64)]);

const p = net.getParameter('0.weight');
console.log(p.tier); // 'device'
p.toHost();          // exact copy to host memory; the device tensor is disposed
try {
  p.read();          // throws: 'Parameter "0.weight" [64, 64] is on the "host" tier …'
} catch (error) {
  console.log(error instanceof ParameterNotResidentError, (error as Error).message);
}
p.toDevice();        // exact upload; the host copy is released
net.dispose();
