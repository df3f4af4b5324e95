// Built-in layers (filled in by the layers work).
export {};
