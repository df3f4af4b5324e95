/** The error `fn` throws; fails the test when it returns instead, so a refusal that never comes is caught. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal, but the call succeeded');
}
