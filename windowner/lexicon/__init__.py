"""Lexical resources: pretrained word vectors, gazetteer lists, word clusters."""
