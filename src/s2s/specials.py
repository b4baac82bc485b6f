"""The special token ids every layer shares: <pad>=0, <unk>=1, <bos>=2, <eos>=3 (data writes them, models mask with them)."""

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]

CONTROL_BYTES = frozenset(range(0x20)) | {0x7F}  # C0 controls and DEL: NUL, tab, newline, escape, ...


def control_tokens(tokens: list[str]) -> list[int]:
    """Ids of the tokens that write a control character (C0 or DEL) into text: SentencePiece's byte-fallback pieces
    <0x00> to <0x1F> and <0x7F>, and any other token holding such a character. A translation never outputs them: a
    sampled <0x0A> would split an output line in two, a <0x00> write a NUL that no reader of text expects."""
    ids = []
    for i, token in enumerate(tokens):
        byte = int(token[3:5], 16) if len(token) == 6 and token.startswith("<0x") and token.endswith(">") else None
        if byte in CONTROL_BYTES if byte is not None else any(ord(c) in CONTROL_BYTES for c in token):
            ids.append(i)
    return ids

