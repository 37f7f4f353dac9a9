"""`iptscope show --chain/--table` parses only the rules it prints (the rest stay lazy), with the
same output as when every rule is parsed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parser.load import load_text

Cli = Callable[..., Any]

DUMP = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
:bad - [0:0]
[5:300] -A INPUT -p tcp -m tcp --dport 80 -j web
[1:60] -A web -s 10.0.0.0/8 -j ACCEPT
[0:0] -A bad --bogus x -j DROP
COMMIT
"""


def _chain_block(out: str, name: str) -> str:
    start = out.index(f"Chain {name} ")
    end = out.find("\n\n", start)
    return out[start:end if end >= 0 else len(out)]


def test_chain_resolves_only_its_rules(monkeypatch: pytest.MonkeyPatch, cli: Cli,
                                       write_file: Callable[[str, str], Path]) -> None:
    path = write_file("fw.save", DUMP)
    seen: list[tuple[str, int]] = []
    import parser.load as load_module

    real = load_module.load_path

    def spying(*args: Any, **kwargs: Any) -> Any:
        rs = real(*args, **kwargs)
        for rule in rs.rules():
            resolver = rule._resolver  # the lazy resolver each parsed rule carries

            def wrapped(r: Any, _inner: Any = resolver) -> Any:
                seen.append((r.chain_name, r.position))
                return _inner(r)

            rule._resolver = wrapped
        return rs

    monkeypatch.setattr(load_module, "load_path", spying)
    result = cli("show", str(path), "--chain", "web")
    assert result.code == 0, result.err
    assert seen == [("web", 1)]
    assert "src 10.0.0.0/8" in result.out
    assert result.err == ""  # the bad rule elsewhere is not parsed (check reports it)


def test_chain_output_is_that_of_the_fully_parsed_file(
        cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    path = write_file("fw.save", DUMP)
    partial = cli("show", str(path), "--chain", "bad")
    assert partial.code == 1  # its own rule's error is found while printing it
    assert "unknown option '--bogus'" in partial.err
    whole = cli("show", str(path))
    assert whole.code == 1
    assert _chain_block(partial.out, "bad") == _chain_block(whole.out, "bad")
    assert partial.err == whole.err  # the only bad rule is in the chain shown
    rs = load_text(DUMP, "fw.save")
    assert rs.errors == []  # nothing resolved yet: the error is in the rule's words
