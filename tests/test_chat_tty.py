"""`chat` in a real pseudo-terminal, as a person meets it: a quiet start, line editing with
history, the reply streamed, and Ctrl-C leaving without a traceback."""

import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Terminal:
    """A child process on a pseudo-terminal (its controlling terminal, so Ctrl-C is a real SIGINT)."""

    def __init__(self, *argv: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the program
            os.chdir(ROOT)
            os.execv(sys.executable, [sys.executable, *argv])
        self.seen = ""

    def read_until(self, *marks: str, since: int = 0, timeout: float = 300) -> str:
        """What the terminal shows from `since` on, once it holds one of `marks` there."""
        deadline = time.monotonic() + timeout
        while not any(mark in self.seen[since:] for mark in marks):
            ready, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(f"none of {marks} within {timeout} s; the terminal shows:\n{self.seen}")
            try:
                chunk = os.read(self.fd, 4096).decode(errors="replace")
            except OSError:  # the child has exited
                chunk = ""
            if not chunk:
                raise AssertionError(f"the program ended before {marks}; the terminal shows:\n{self.seen}")
            self.seen += chunk
        return self.seen[since:]

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_code(self, timeout: float = 180) -> int:  # generous: a loaded 2-core machine once took over 60 s
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:  # drain, so the child never blocks on a full terminal
                if select.select([self.fd], [], [], 0.2)[0]:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        raise AssertionError(f"the program did not exit; the terminal shows:\n{self.seen}")


@pytest.mark.slow  # a whole chat process in a pseudo-terminal, about 35 s
def test_chat_in_a_terminal_edits_lines_keeps_history_streams_and_leaves_on_ctrl_c(model_cache):
    term = Terminal("-m", "grpodx", "chat", "--model", "grpodx/tiny-phi3", "--cache-dir", model_cache, "--max-turns=3", "--max-new-tokens=24")
    start = term.read_until("You: ")
    before_prompt = start.split("What brings you in today?")[0]
    assert "Warning" not in before_prompt and "Loading weights" not in before_prompt and "deprecated" not in before_prompt, before_prompt
    term.type("I have a coughx\x7f and a fever.\r")  # a backspace edits the line
    after = term.read_until("You: ", "Diagnosis: ", since=len(start))
    assert "Doctor: " in after
    if "Diagnosis: " not in after:  # the doctor asked: the up arrow brings back the answer, as edited
        mark = len(term.seen)
        term.type("\x1b[A")
        assert "I have a cough and a fever." in term.read_until("fever.", since=mark, timeout=30)
    term.type("\x03")  # Ctrl-C
    code = term.exit_code()
    assert "Traceback" not in term.seen and "KeyboardInterrupt" not in term.seen, term.seen
    assert code in (0, 130) and ("(chat ended)" in term.seen or "Diagnosis: " in after)
