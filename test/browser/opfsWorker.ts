// A dedicated Worker for test/browser/opfs.test.ts: it runs one scenario of opfsScenarios.ts (disk tier on the Origin
// Private File System) per message and posts back what it saw, or the error. Imported statically, as transferWorker.ts
// does: a Worker has no vitest module mocker for dynamic imports.
import { SCENARIOS, type ScenarioName } from './opfsScenarios.js';

interface WorkerScope {
  onmessage: ((event: { data: { scenario: ScenarioName; args?: unknown } }) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event) => {
  const { scenario, args } = event.data;
  void Promise.resolve()
    .then((): unknown => (SCENARIOS[scenario] as (a: unknown) => unknown)(args))
    .then(
      (result) => scope.postMessage({ result }),
      (error: unknown) => scope.postMessage({ error: String((error instanceof Error && error.stack) || error) }),
    );
};
