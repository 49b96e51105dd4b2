"""Dialogs a page opens (alert, confirm, prompt): dismissed at once, counted and said.

A dialog stops the page's scripts until someone answers it, and chromedriver answers the command
it was running with an error ("unexpected alert open"). So every document gets, before its own
scripts, an alert(), confirm() and prompt() that answer at once as a customer dismissing them
would (undefined, false, null) and log the dialog to the console behind a marker of this run's
(a page cannot forge one); the session reads them with the console's errors. A dialog that
escapes them (a window they were not installed in) is dismissed when chromedriver reports it,
and counted the same way.
"""

from __future__ import annotations

import json
import secrets

from cxcheck.runtime import Record, masker

KINDS = ("alert", "confirm", "prompt")
KEPT = 10                   # dialogs whose text is kept; any more are counted
TEXT = 80                   # characters of a dialog's text that are kept

SCRIPT = """(() => {
  const log = console.debug.bind(console);
  const answers = {alert: undefined, confirm: false, prompt: null};
  for (const kind of Object.keys(answers)) {
    const dismissed = function (message) {
      log(MARKER + " " + JSON.stringify([kind, message === undefined ? "" : String(message)]));
      return answers[kind];
    };
    Object.defineProperty(window, kind, {value: dismissed, writable: true, configurable: true});
  }
})();"""


class Dialog(Record):
    _fields = ("kind", "text")

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text

    def __str__(self):
        return f"{self.kind} {masker.mask(repr(self.text))}"


def shortened(text) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= TEXT else text[:TEXT - 3] + "..."


class Dialogs:
    """The dialogs of one browser: the script installing the dismissers, the ones seen."""

    def __init__(self):
        self.marker = f"cxcheck-dialog-{secrets.token_hex(8)}"
        self.count = 0                      # all of the run's
        self.seen: list[Dialog] = []        # the first KEPT of the run
        self._taken = 0                     # count at the last take()
        self._new: list[Dialog] = []        # the first KEPT since the last take()

    def script(self) -> str:
        return SCRIPT.replace("MARKER", json.dumps(self.marker))

    def add(self, kind: str, text) -> None:
        dialog = Dialog(kind if kind in KINDS else "dialog", shortened(text))
        self.count += 1
        for kept in (self.seen, self._new):
            if len(kept) < KEPT:
                kept.append(dialog)

    def read(self, entries) -> list:
        """The console log's entries with this run's dialogs taken out (and noted)."""
        rest = []
        for entry in entries:
            message = str(entry.get("message", ""))
            start = message.find('"' + self.marker + " ")
            if start < 0:
                rest.append(entry)
                continue
            try:            # console-api 3:40 "MARKER [\"alert\",\"text\"]": a JSON string
                kind, text = json.loads(json.loads(message[start:])[len(self.marker) + 1:])
            except (ValueError, TypeError):
                kind, text = "dialog", ""
            self.add(kind, text)
        return rest

    def take(self) -> dict:
        """How many since the last take, and the first KEPT of them (a PageLoad's fields)."""
        new, self._new = self._new, []
        counted, self._taken = self.count - self._taken, self.count
        return {"dialog_count": counted, "dialogs": new}
