// Wrapping tfjs LayersModels.
export { wrapLayersModel, unwrapLayersModel, getWrappedModule, type WrapLayersModelOptions } from './wrapLayersModel.js';
export { WrappedLayer, WrappedContainer, WrappedModel, ENTRY_POINTS, type EntryPoint } from '../../models/wrapped/WrappedModules.js';
export type { TfjsLayersModel } from '../../models/wrapped/TfjsLayersModel.js';
export { INTERCEPTABLE_LAYER_CLASSES, WRAPPER_LAYER_CLASSES } from './allowlist.js';
