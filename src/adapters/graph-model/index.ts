// Wrapping tfjs-converter GraphModels.
export { wrapGraphModel, unwrapGraphModel, getWrappedGraphModule } from './wrapGraphModel.js';
export type { WrapGraphModelOptions, GraphHostWeights } from './shippedWeights.js';
export type { GraphModelLike } from './executorInternals.js';
export { GraphScope, GraphModelScope, type GraphSegment, type GraphControlFlow } from '../../models/wrapped/GraphScope.js';
