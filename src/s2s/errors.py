"""The one exception type for user-facing errors: its message says what is wrong and how to fix it."""


class S2SError(Exception):
    """A problem with the user's input (config, data, checkpoint, flag); the CLI prints it without a traceback."""
