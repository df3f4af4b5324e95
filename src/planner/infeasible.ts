import { brand } from '../base/brand.js';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';

/**
 * planMemory found nothing that fits: the message names the budget, the smallest predicted peak and the
 * candidate that reaches it, and what would fit (a lossy option, a folder for the disk tier, a larger budget).
 */
export class PlanInfeasibleError extends MemhooksError {
  constructor(
    message: string,
    /** The smallest peak device bytes any candidate considered is predicted to reach. */
    readonly smallestPeakBytes: number,
    /** The device budget asked for, in bytes. */
    readonly deviceBudget: number,
  ) {
    super(ERROR_CODES.PLAN_INFEASIBLE, message);
  }
}

// Errors thrown by the other build of memhooks in one process pass instanceof checks too.
brand(PlanInfeasibleError, 'error.PlanInfeasibleError');
