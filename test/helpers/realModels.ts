export async function ensureRealModels(): Promise<void> {}
