"""Item text to vectors: encoders, item-text templates, embedding cache, fine-tuning.

Nothing here imports torch or sentence-transformers at import time; they load when
a model is first used.
"""

from ssl4rec.text.cache import default_cache_dir, encode_cached, item_embeddings
from ssl4rec.text.encoder import ItemTextEncoder
from ssl4rec.text.finetune import FinetuneConfig, finetune_encoder
from ssl4rec.text.sentence_transformers import DEFAULT_MODEL, SentenceTransformerEncoder
from ssl4rec.text.templates import TEMPLATES, item_texts

__all__ = [
    "DEFAULT_MODEL",
    "TEMPLATES",
    "FinetuneConfig",
    "ItemTextEncoder",
    "SentenceTransformerEncoder",
    "default_cache_dir",
    "encode_cached",
    "finetune_encoder",
    "item_embeddings",
    "item_texts",
]
