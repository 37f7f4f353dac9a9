"""`iptscope check` through the CLI, in-process and as a subprocess, on samples and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("parser.load")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

NEUTRON = SAMPLES / "neutron" / "iptables-L-vn-line-numbers.txt"

GOOD_SAVE = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.1/32 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j DROP
COMMIT
"""

ONE_BAD_LINE = GOOD_SAVE.replace("-A INPUT -j DROP\n",
                                 "this line is not iptables-save output\n-A INPUT -j DROP\n")

Cli = Callable[..., Any]  # conftest's cli / cli_subprocess: (*args, stdin=) -> Result


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.out + result.err


def check_json(cli: Cli, *args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    result = cli("check", "--json", *args, stdin=stdin)
    no_traceback(result)
    return result.code, json.loads(result.out)


def test_neutron_sample_human(cli: Cli, golden: Callable[[str, str], None]) -> None:
    result = cli("check", str(NEUTRON.relative_to(SAMPLES.parent)))
    no_traceback(result)
    assert result.code == 0, result.out + result.err
    golden("check-neutron.txt", result.out)


def test_neutron_sample_json(cli: Cli, golden: Callable[[str, str], None]) -> None:
    code, report = check_json(cli, str(NEUTRON.relative_to(SAMPLES.parent)))
    assert code == 0
    golden("check-neutron.json", json.dumps(report, indent=2) + "\n")
    (entry,) = report["files"]
    assert set(entry) == {"path", "format", "family", "tables", "unknown_modules",
                          "diagnostics"}
    assert entry["format"].startswith("iptables -L")
    assert entry["family"] == "ipv4"
    assert set(entry["tables"]) == {"filter"}
    assert entry["tables"]["filter"]["rules"] > 0
    assert entry["diagnostics"] == []


def test_json_shape_is_exact(cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    path = write_file("good.save", GOOD_SAVE)
    code, report = check_json(cli, str(path))
    assert code == 0
    assert report == {"files": [{
        "path": str(path),
        "format": "iptables-save",
        "family": "ipv4",
        "tables": {"filter": {"chains": 3, "rules": 3}},
        "unknown_modules": [],
        "diagnostics": [],
    }]}


def test_subprocess_matches_in_process(cli: Cli, cli_subprocess: Cli) -> None:
    args = ("check", str(NEUTRON.relative_to(SAMPLES.parent)))
    inside = cli(*args)
    outside = cli_subprocess(*args)
    assert (outside.code, outside.out, outside.err) == (inside.code, inside.out, inside.err)


def test_missing_file_is_an_error_not_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.save"
    result = cli("check", str(NEUTRON), str(missing))
    no_traceback(result)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[-1].startswith(f"{missing}: error: ")
    code, report = check_json(cli, str(missing))
    assert code == 1
    (entry,) = report["files"]
    assert entry["format"] is None and entry["tables"] == {}
    assert [d["severity"] for d in entry["diagnostics"]] == ["error"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", ""),
        ("blank.txt", "\n\n   \n"),
        ("binary.bin", bytes(range(256)) * 8),
        ("gzip.save.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 64),
        ("truncated.save", GOOD_SAVE[: GOOD_SAVE.index("--dport") + 7]),
        ("prose.txt", "Hello, I have a problem with my firewall.\nCan anyone help?\n"),
    ],
)
def test_bad_input_is_reported_never_a_traceback(
    cli: Cli, write_file: Callable[[str, str | bytes], Path], name: str, content: str | bytes
) -> None:
    path = write_file(name, content)
    result = cli("check", str(path))
    no_traceback(result)
    assert result.code == 1, result.out
    assert f"{path}" in result.out and "error" in result.out
    code, report = check_json(cli, str(path))
    assert code == 1
    (entry,) = report["files"]
    assert any(d["severity"] == "error" for d in entry["diagnostics"])


def test_one_bad_line_keeps_the_good_ones(
    cli: Cli, write_file: Callable[[str, str], Path]
) -> None:
    path = write_file("mixed.save", ONE_BAD_LINE)
    result = cli("check", str(path))
    no_traceback(result)
    assert result.code == 1
    assert "filter: 3 chains, 3 rules" in result.out
    bad_line = ONE_BAD_LINE.splitlines().index("this line is not iptables-save output") + 1
    assert f"{path}:{bad_line}:" in result.out
    assert "\n    this line is not iptables-save output\n" in result.out
    code, report = check_json(cli, str(path))
    assert code == 1
    (entry,) = report["files"]
    assert entry["tables"] == {"filter": {"chains": 3, "rules": 3}}
    assert [d["line"] for d in entry["diagnostics"] if d["severity"] == "error"] == [bad_line]


def test_strict_stops_at_the_first_error(
    cli: Cli, write_file: Callable[[str, str], Path]
) -> None:
    bad = write_file("mixed.save", ONE_BAD_LINE)
    good = write_file("good.save", GOOD_SAVE)
    code, report = check_json(cli, "--strict", str(bad), str(good))
    assert code == 1
    (entry,) = report["files"]
    assert entry["path"] == str(bad)
    assert len(entry["diagnostics"]) == 1
    result = cli("check", "--strict", str(bad), str(good))
    no_traceback(result)
    assert result.code == 1
    assert str(good) not in result.out


def test_strict_passes_good_files(cli: Cli, write_file: Callable[[str, str], Path]) -> None:
    good = write_file("good.save", GOOD_SAVE)
    assert cli("check", "--strict", str(good), str(NEUTRON)).code == 0


def test_stdin(cli: Cli) -> None:
    result = cli("check", "-", stdin=GOOD_SAVE)
    assert result.code == 0
    assert result.out.startswith("-: iptables-save, ipv4; filter: 3 chains, 3 rules")


def test_stdin_subprocess_with_a_bad_line(cli_subprocess: Cli) -> None:
    result = cli_subprocess("check", "--json", "-", stdin=ONE_BAD_LINE)
    no_traceback(result)
    assert result.code == 1
    (entry,) = json.loads(result.out)["files"]
    assert entry["path"] == "-"
    assert entry["tables"] == {"filter": {"chains": 3, "rules": 3}}


def test_stdin_binary_subprocess(cli_subprocess: Cli) -> None:
    result = cli_subprocess("check", "-", stdin=bytes(range(256)))
    no_traceback(result)
    assert result.code == 1
    assert result.out.startswith("-")


@pytest.mark.parametrize("args", [(), ("-", "-"), ("--frobnicate", "x")])
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli("check", *args, stdin="")
    no_traceback(result)
    assert result.code == 2
    assert result.out == ""


CORPUS_FILES = [
    "save/k8s-1.11-weave-docker-kubeadm.txt",
    "spec/moby-usernet-portmap-nat-S.txt",
    "list-verbose/moby-usernet-portmap-filter-nvL-line-numbers.txt",
]


@pytest.mark.parametrize("relative", CORPUS_FILES)
def test_corpus_json_golden(cli: Cli, golden: Callable[[str, str], None],
                            corpus_file: Callable[[str], Path], relative: str) -> None:
    path = corpus_file(relative)
    code, report = check_json(cli, str(path))
    assert code == 0, report
    (entry,) = report["files"]
    entry["path"] = relative
    name = "check-corpus-" + relative.replace("/", "-").removesuffix(".txt") + ".json"
    golden(name, json.dumps(report, indent=2) + "\n")


WORDS = ["*filter", "*nat", ":INPUT", "ACCEPT", "DROP", "[0:0]", "[3:180]", "-", "-A", "-I",
         "-N", "-P", "INPUT", "FORWARD", "-p", "tcp", "udp", "-m", "--dport", "80", "!", "-j",
         "-g", "COMMIT", "Chain", "(policy", "packets,", "bytes)", "num", "pkts", "target",
         "prot", "opt", "source", "destination", "0.0.0.0/0", "10.0.0.1", "--comment", '"a b',
         '"', "comment", "/*", "*/", "dpt:22", "state", "RELATED,ESTABLISHED", "# Generated",
         "-c", "5", "10K", "\t", "\r", "\x00", "\x1b", "é", "--to-destination", "1.2.3.4:80"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join), max_size=12)
    .map("\n".join),
))
def test_check_never_raises(tmp_path: Path, data: str | bytes) -> None:
    import contextlib
    import io

    from tui.cli import main

    path = tmp_path / "fuzz.txt"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    for args in (["check", str(path)], ["check", "--json", str(path)],
                 ["check", "--strict", str(path)], ["show", str(path)]):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
        assert code in (0, 1), (args, out.getvalue(), err.getvalue())
    assert "Traceback" not in out.getvalue() + err.getvalue()
    assert "internal error" not in out.getvalue() + err.getvalue()


def test_whole_corpus_in_one_run(cli: Cli) -> None:
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus"
    files = sorted(str(p) for p in corpus.glob("*/*.txt"))
    if not files:
        pytest.skip("../shared/corpus not available")
    result = cli("check", "--json", *files)
    no_traceback(result)
    report = json.loads(result.out)
    assert [f["path"] for f in report["files"]] == files
    failed = [f["path"] for f in report["files"]
              if "/other/" not in f["path"]
              and any(d["severity"] == "error" for d in f["diagnostics"])]
    assert failed == []
    assert result.code == (1 if any(
        any(d["severity"] == "error" for d in f["diagnostics"]) for f in report["files"]) else 0)
