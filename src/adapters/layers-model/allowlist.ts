/**
 * Layers that run other layers or cells themselves. They become one leaf holding every weight of
 * their inner layers (which `layer.weights` already lists); the inner layers are not patched, so the
 * outer leaf's hooks cover them.
 */
export const WRAPPER_LAYER_CLASSES: ReadonlySet<string> = new Set([
  'SimpleRNN',
  'GRU',
  'LSTM',
  'ConvLSTM2D',
  'RNN',
  'StackedRNNCells',
  'TimeDistributed',
  'Bidirectional',
]);

/**
 * Built-in tfjs-layers classes (4.22) verified to read their weights only through `LayerVariable.read()`
 * (and to update them only through `write()`), which is where wrapping puts each weight behind its
 * Parameter. A layer that reached `.val` or kept a tensor of its own would silently bypass offloading,
 * so a weighted layer whose class is not listed here is refused unless the user trusts it by name.
 */
export const INTERCEPTABLE_LAYER_CLASSES: ReadonlySet<string> = new Set([
  'Conv1D',
  'Conv2D',
  'Conv3D',
  'Conv2DTranspose',
  'Conv3DTranspose',
  'SeparableConv2D',
  'DepthwiseConv2D',
  'Dense',
  'Embedding',
  'PReLU',
  'BatchNormalization',
  'LayerNormalization',
  'SimpleRNNCell',
  'GRUCell',
  'LSTMCell',
  'ConvLSTM2DCell',
  // Wrappers and RNNs call their inner layers' / cells' `call` directly; those are checked too.
  ...WRAPPER_LAYER_CLASSES,
]);
