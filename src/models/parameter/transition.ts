import { ledger } from '../../runtime/ledger.js';
import { hostBytesHeld, type Storage } from './kinds.js';

/**
 * The one way a Parameter's storage changes kind (or contents). The host-byte ledger moves by the difference
 * between what the two kinds hold, computed here once, so no move can forget its share of memory.stats().
 * The device tensor `from` holds is disposed unless `to` holds the same tensor, or `handOver` gives it to
 * the caller (Parameter.release()). Whatever `to` holds must already exist: reading the old bytes happens
 * before the transition, freeing them in it.
 */
export function transition(from: Storage, to: Storage, handOver = false): Storage {
  if (from.kind === 'device' && !handOver && (to.kind !== 'device' || to.tensor !== from.tensor)) from.tensor.dispose();
  ledger.hostBytes += hostBytesHeld(to) - hostBytesHeld(from);
  return to;
}
