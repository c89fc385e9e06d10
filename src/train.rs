//! A small, exact ndarray trainer: layers with forward/backward passes, softmax
//! cross-entropy, Adam/SGD, datasets (see `docs/training.md`).
