"""The model: the hyper-parameter schema, assembly, training, inference, explanations, model directories."""
