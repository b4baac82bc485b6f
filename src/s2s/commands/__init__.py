"""One module per s2s command, as pip's commands are: translate.py holds translate's options (add_parser) and its
handler (run); s2s.cli builds the parser from them and dispatches. At import time a command module holds argparse code
only: what its run needs (torch among it) is imported inside run, so that s2s --help, s2s pretrained and --engine onnx
start without torch.

What several commands share: paths.py (the path rules: no command writes over one of its own inputs), streams.py
(output files and stdout), decoding.py (the decoding flags and the translator --engine picks), numbers.py (the number
flags' argparse types)."""
