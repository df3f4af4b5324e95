// Wrapping tfjs LayersModels.
export {};
