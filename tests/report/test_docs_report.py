"""``docs/report.md``: its Python examples (``pycon`` blocks) run as shown, and what it says about
the command (file layout, the refusal message) is what the command does."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def test_the_examples_run_as_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = PAGE.read_text(encoding="utf-8")
    examples = "\n".join(re.findall(r"```pycon\n(.*?)```", text, re.S))
    test = doctest.DocTestParser().get_doctest(examples, {}, "docs/report.md", str(PAGE), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 8 and result.failed == 0
    assert (tmp_path / "reports" / "reverse_kl.html").is_file()


def test_the_refusal_shown_is_the_library_message():
    import divergences as dv
    from divergences.symbolic.symbols import u

    text = PAGE.read_text(encoding="utf-8")
    shown = re.search(r"gan-theory report: NotConvexError: (.+)", text).group(1)
    try:
        dv.FDivergence.from_generator("-log(u)**2", u, name="bad")
    except dv.NotConvexError as exc:
        assert str(exc) == shown
    else:  # pragma: no cover - the library refuses it
        raise AssertionError("-log(u)**2 was accepted")
