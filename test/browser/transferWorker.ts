// A dedicated Worker that runs the small model of transferModel.ts and posts what it saw back. Inside a Worker,
// Atomics.wait is allowed: with shared memory (a cross-origin isolated page) the model gets full prefetch, as in Node.
import { runSmallModel, type StorageDtype } from './transferModel.js';

interface WorkerScope {
  onmessage: ((event: { data: StorageDtype }) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event) => {
  void runSmallModel(event.data).then(
    (run) => scope.postMessage(run),
    (error: unknown) => scope.postMessage({ error: String((error instanceof Error && error.stack) || error) }),
  );
};
