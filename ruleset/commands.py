"""An iptables command line as data (`-t nat -I FORWARD 1 -s ... -j ACCEPT`).

The parser (`parser.rulespec.parse_command`) builds these; what-if edits (`ruleset.whatif`)
apply them to a Ruleset in memory, and render them back for the user to run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruleset.model import RuleSpec
from ruleset.spec import render_spec

# Operation letters as iptables spells them, long forms mapped by the parser.
OPERATIONS = ("-A", "-I", "-D", "-R", "-P", "-N", "-X", "-F", "-Z", "-E")


@dataclass(frozen=True, slots=True)
class Command:
    """One iptables command. `position` is 1-based (None where the command has none);
    `spec` is the rule for -A/-I/-R and -D by spec; `policy` for -P; `new_name` for -E."""

    op: str
    table: str = "filter"
    chain: str | None = None
    position: int | None = None
    spec: RuleSpec | None = None
    policy: str | None = None
    new_name: str | None = None
    family_flag: str = "iptables"  # or "ip6tables"

    def render(self) -> str:
        """The command as a shell line the user could run."""
        words = [self.family_flag]
        if self.table != "filter":
            words += ["-t", self.table]
        words.append(self.op)
        if self.chain is not None:
            words.append(self.chain)
        if self.op == "-E" and self.new_name:
            words.append(self.new_name)
        if self.position is not None:
            words.append(str(self.position))
        if self.op == "-P" and self.policy:
            words.append(self.policy)
        if self.spec is not None:
            body = render_spec(self.spec)
            if body:
                words.append(body)
        return " ".join(words)
