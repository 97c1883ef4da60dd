"""Text: tag schemes, CoNLL files, the tokenizer and its learned conventions, sentence segmentation, Doc."""
