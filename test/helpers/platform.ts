import { setPlatform, type Platform, type SyncFiles } from '../../src/base/platform/Platform.js';
import { nodePlatform } from '../../src/base/platform/node.js';

/**
 * Registers the Node platform with some of its calls replaced, for the rest of this test file (vitest runs
 * each file in its own module graph). memhooks reaches files and the host only through the platform seam
 * (src/base/platform), so this is where a test observes or fails a call; vi.mock('node:fs') would not reach
 * the Node platform, which the setup file (test/helpers/nodePlatform.ts) loads before the test file's mocks.
 */
export function useNodePlatformWith(overrides: { files?: Partial<SyncFiles> } & Partial<Omit<Platform, 'files'>>): void {
  const { files, ...rest } = overrides;
  setPlatform({ ...nodePlatform, ...rest, files: { ...nodePlatform.files, ...files } });
}
