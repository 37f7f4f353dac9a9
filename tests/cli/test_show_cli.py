"""`iptscope show` through the CLI: goldens on the bundled sample and corpus files, filters,
unknown names, colour, bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("parser.load")

REPO = Path(__file__).resolve().parents[2]
NEUTRON = "samples/neutron/iptables-L-vn-line-numbers.txt"

Cli = Callable[..., Any]  # conftest's cli / cli_subprocess: (*args, stdin=) -> Result

GOOD_SAVE = """\
*filter
:INPUT DROP [3:180]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [10:600]
:web - [0:0]
[5:300] -A INPUT -s 10.0.0.1/32 -j ACCEPT
[2:120] -A INPUT -p tcp -m tcp --dport 80 -j web
[0:0] -A web -j REJECT --reject-with icmp-port-unreachable
COMMIT
"""


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.out + result.err


def test_neutron_golden(cli: Cli, golden: Callable[[str, str], None]) -> None:
    result = cli("show", NEUTRON)
    no_traceback(result)
    assert result.code == 0, result.err
    assert result.err == ""
    golden("show-neutron.txt", result.out)


def test_neutron_one_chain_golden(cli: Cli, golden: Callable[[str, str], None]) -> None:
    result = cli("show", NEUTRON, "--table", "filter", "--chain", "neutron-openvswi-i2c6951d5-e")
    assert result.code == 0, result.err
    golden("show-neutron-chain.txt", result.out)
    assert result.out.count("Chain ") == 1


def test_neutron_subprocess_matches_in_process(cli: Cli, cli_subprocess: Cli) -> None:
    inside = cli("show", NEUTRON)
    outside = cli_subprocess("show", NEUTRON)
    assert (outside.code, outside.out, outside.err) == (inside.code, inside.out, inside.err)


def test_colour_forced(cli_subprocess: Cli) -> None:
    result = cli_subprocess("show", NEUTRON, color=True)
    assert result.code == 0
    assert "\x1b[1;31mDROP\x1b[0m" in result.out  # DROP: bold red
    assert "\x1b[36mRETURN\x1b[0m" in result.out  # RETURN: cyan
    assert "\x1b[1;32mACCEPT\x1b[0m" in result.out  # the policies: bold green


def test_no_color_env_wins(cli_subprocess: Cli) -> None:
    result = cli_subprocess("show", NEUTRON, color=True, env={"NO_COLOR": "1"})
    assert result.code == 0
    assert re.search(r"\x1b\[(?:\d+;)*3[0-8][;m]", result.out) is None  # no foreground colour
    assert "\x1b[1m" in result.out  # bold stays


def test_stdin(cli: Cli) -> None:
    result = cli("show", "-", stdin=GOOD_SAVE)
    no_traceback(result)
    assert result.code == 0
    assert result.out.startswith("-: iptables-save -c, ipv4\n")
    assert "Chain INPUT (policy DROP 3 packets, 180 bytes)" in result.out
    assert "Chain web (1 reference)" in result.out
    assert "tcp dport 80" in result.out


def test_unknown_table_suggests(cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    path = write_file("good.save", GOOD_SAVE)
    result = cli("show", str(path), "--table", "filtr")
    assert result.code == 2
    assert result.out == ""
    (line,) = result.err.splitlines()
    assert "no table 'filtr'" in line and "did you mean filter?" in line
    assert "(tables: filter)" in line


def test_unknown_chain_suggests(cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    path = write_file("good.save", GOOD_SAVE)
    result = cli("show", str(path), "--chain", "INPTU")
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert "no chain 'INPTU'" in line and "did you mean INPUT?" in line
    assert "(chains: INPUT, FORWARD, OUTPUT, web)" in line


def test_chain_lower_case_suggests(cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    path = write_file("good.save", GOOD_SAVE)
    result = cli("show", str(path), "-t", "filter", "-c", "input")
    assert result.code == 2
    assert "did you mean INPUT?" in result.err


def test_missing_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = cli("show", str(missing))
    no_traceback(result)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(f"{missing}: error: ")
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 4, b"\n\n"])
def test_unloadable(cli: Cli, write_file: Callable[[str, bytes], Path], content: bytes) -> None:
    path = write_file("bad", content)
    result = cli("show", str(path))
    no_traceback(result)
    assert result.code == 1
    assert result.err.startswith(f"{path}: error: ")


def test_bad_line_listing_still_shown(cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    text = GOOD_SAVE.replace("COMMIT", "what is this\nCOMMIT")
    path = write_file("mixed.save", text)
    result = cli("show", str(path))
    no_traceback(result)
    assert result.code == 1
    assert "Chain web (1 reference)" in result.out
    assert f"{path}:9:1: error: " in result.err and "    what is this" in result.err


CORPUS_FILES = [
    "save/k8s-1.11-weave-docker-kubeadm.txt",
    "spec/moby-usernet-portmap-nat-S.txt",
    "list-verbose/moby-usernet-portmap-filter-nvL-line-numbers.txt",
]


@pytest.mark.parametrize("relative", CORPUS_FILES)
def test_corpus_golden(cli: Cli, golden: Callable[[str, str], None],
                       corpus_file: Callable[[str], Path], relative: str,
                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Shown under its corpus-relative name from a scratch directory: the header names the
    # file, and an absolute path would wrap differently in every checkout.
    import shutil

    copy = tmp_path / relative
    copy.parent.mkdir(parents=True)
    shutil.copy(corpus_file(relative), copy)
    monkeypatch.chdir(tmp_path)
    result = cli("show", relative)
    no_traceback(result)
    assert result.code == 0, result.err
    golden("show-corpus-" + relative.replace("/", "-"), result.out)


def test_terminal_width_wraps_under_the_rule_column(
        golden: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from parser.load import load_path
    from tui import render

    # Loaded by its relative name, so the header (which names the file) is the same wherever
    # the checkout lives.
    monkeypatch.chdir(REPO)
    buf = io.StringIO()
    console = render.make_console(file=buf, width=100, no_color=True)
    console.print(render.ruleset_listing(load_path(NEUTRON)))
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert not any(line.endswith(" ") for line in text.splitlines())
    golden("show-neutron-width-100.txt", text)


@pytest.mark.parametrize("width", [20, 40, 60, 80, 100])
@pytest.mark.parametrize("dir_len", [1, 30, 45, 60])
def test_no_wrapped_line_ends_in_a_space_or_overflows(
        tmp_path: Path, width: int, dir_len: int) -> None:
    # A long file path in the header once wrapped leaving its break space at the end of the
    # line (CI's checkout path was longer than ours); rows with no body wrapped the same way.
    import io
    import shutil

    from parser.load import load_path
    from tui import render

    folder = tmp_path / ("d" * dir_len)
    folder.mkdir()
    path = folder / "iptables-L-vn-line-numbers.txt"
    shutil.copy(REPO / NEUTRON, path)
    buf = io.StringIO()
    console = render.make_console(file=buf, width=width, no_color=True)
    console.print(render.ruleset_listing(load_path(str(path))))
    lines = buf.getvalue().splitlines()
    assert [line for line in lines if line.endswith(" ") or len(line) > width] == []
    # Nothing is lost to the wrapping: the words are still printed whole (at 20 columns a
    # 28-character chain name has to be folded).
    words = set(" ".join(lines).split())
    if width >= 40:
        assert {"neutron-openvswi-sg-fallback", "tap2c6951d5-e6", "14.52.45.2"} <= words
    else:
        assert "14.52.45.2" in words
