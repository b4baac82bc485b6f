"""The special token ids every layer shares: <pad>=0, <unk>=1, <bos>=2, <eos>=3 (data writes them, models mask with them)."""

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
