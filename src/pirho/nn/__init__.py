"""Learned engine: bidirectional recurrent layers (torch) and the models built on them."""

from pirho.nn.birnn import BiRNN as BiRNN
from pirho.nn.birnn import BiRNNState as BiRNNState
from pirho.nn.crf import LinearChainCRF, bio_constraints, hmm_emissions  # noqa: F401
from pirho.nn.embeddings import ContextualStringEmbeddings  # noqa: F401
from pirho.nn.models import RNNLM, BiLM, ClozeModel  # noqa: F401
from pirho.nn.taggers import StateTagger, Tagger  # noqa: F401
