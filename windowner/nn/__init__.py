"""The network and its math: layers with hand-derived gradients, SGD, gradient checks, decoding, marginals,
calibration maps."""
