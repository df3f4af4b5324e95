// Fetches the real pre-trained models the wrapping tests use (see test/helpers/realModels.ts).
export default async function setup(): Promise<void> {
  // This runs outside the test files (no setupFiles): register the platform that realModels' fetch uses.
  await import('../../src/base/platform/useNode.js');
  const { ensureRealModels } = await import('./realModels.js');
  await ensureRealModels();
}
