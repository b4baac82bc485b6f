"""The one exception type for user-facing errors: its message says what is wrong and how to fix it."""


class S2SError(Exception):
    """A problem with the user's input (config, data, checkpoint, flag); the CLI prints it without a traceback."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a killed job, `timeout`, a scheduler's stop), raised in the main thread as Ctrl-C is, so that every
    cleanup on the way out (finally:, context managers: temporary files, staging folders) runs before the program
    ends; the default SIGTERM ends the process where it stands and leaves them behind."""


def raise_on_sigterm() -> None:
    """Make SIGTERM raise Terminated, for a program's entry point (s2s, the scripts); the trainer's own handler (save,
    then stop) still takes over while it trains. Leaves a handler someone else installed alone."""
    import signal
    import threading

    def terminated(signum, frame):
        raise Terminated

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, terminated)


def stopped(stop: KeyboardInterrupt) -> int:
    """The exit status of a program stopped by Ctrl-C (130) or SIGTERM (143, Terminated), after the one line it ends
    with on stderr ('interrupted' or 'terminated')."""
    import sys

    terminated = isinstance(stop, Terminated)
    print("terminated" if terminated else "interrupted", file=sys.stderr)
    return 143 if terminated else 130
