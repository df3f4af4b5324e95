// Fetches the real pre-trained models the wrapping tests use (see test/helpers/realModels.ts).
export default async function setup(): Promise<void> {
  const { ensureRealModels } = await import('./realModels.js');
  await ensureRealModels();
}
