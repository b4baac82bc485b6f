"""The s2s subcommands and what they share: numbers.py (the number flags' argparse types), paths.py (the path rules:
no command writes over one of its inputs), streams.py (output files and stdout), decoding.py (the decoding flags
and the translator --engine picks)."""
