// Wrapping tfjs-converter GraphModels.
export { wrapGraphModel, unwrapGraphModel, getWrappedGraphModule } from './wrapGraphModel.js';
export type { GraphModelLike } from './executorInternals.js';
export { GraphScope, type GraphSegment } from '../../models/wrapped/GraphScope.js';
