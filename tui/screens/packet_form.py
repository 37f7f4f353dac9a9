"""`t`: the packet to step, prefilled from the selected rule (and the last packet)."""

from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from ruleset.model import Rule
from tui.session import PacketRequest, prefill_from_rule

# Placeholders say what goes there ("e.g."), never a value that could pass for one typed in.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("proto", "protocol", "tcp, udp, icmp…"),
    ("src", "source", "required, e.g. 10.0.0.5"),
    ("sport", "src port", "not set"),
    ("dst", "destination", "required, e.g. 10.0.0.9"),
    ("dport", "dst port", "not set"),
    ("in_iface", "in iface", "not set, e.g. eth0"),
    ("out_iface", "out iface", "not set, e.g. eth1"),
    ("physdev_in", "physdev in", "not set: a bridge port"),
    ("physdev_out", "physdev out", "not set: a bridge port"),
    ("mac_src", "source MAC", "not set"),
    ("tcp_flags", "TCP flags", "e.g. SYN"),
    ("icmp_type", "ICMP type", "e.g. 8/0"),
    ("mark", "mark", "0"),
)
LABELS = {name: label for name, label, _ in FIELDS}
PATHS = ("input", "forward", "output")
STATES = ("NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED")


def field_problem(request: PacketRequest) -> tuple[str, str] | None:
    """The first field the packet cannot be built from, and what is wrong with it, in the
    form's own words (`source: required (an address, e.g. 10.0.0.5)`)."""
    import ipaddress

    for name in ("src", "dst"):
        value = getattr(request, name).strip()
        if not value:
            return name, f"{LABELS[name]}: required (an address, e.g. 10.0.0.5)"
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return name, f"{LABELS[name]}: {value!r} is not an IPv4 or IPv6 address"
    for name in ("sport", "dport"):
        value = getattr(request, name).strip()
        if value and not (value.isdigit() and int(value) <= 65535):
            return name, f"{LABELS[name]}: {value!r} is not a port number (0-65535)"
    return None


class PacketFormDialog(ModalScreen[PacketRequest | None]):
    # Compact fields (one line each, a blank line between rows): the whole form, its message
    # and its buttons fit a 100x30 terminal (bordered fields took 45 lines).
    DEFAULT_CSS = """
    PacketFormDialog { align: center middle; }
    PacketFormDialog > Vertical {
        width: 96; height: auto; max-height: 100%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    PacketFormDialog Grid {
        grid-size: 4; grid-columns: 13 1fr 13 1fr; grid-rows: 1; grid-gutter: 1 1;
        height: auto; margin-bottom: 1;
    }
    PacketFormDialog Grid Label { padding: 0 0 0 1; }
    PacketFormDialog #form-title { text-style: bold; padding: 0 0 1 0; }
    PacketFormDialog #form-error { color: $error; height: auto; margin-bottom: 1; }
    PacketFormDialog Horizontal { height: auto; align-horizontal: right; }
    PacketFormDialog Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Step"),
    ]

    def __init__(self, rule: Rule | None, last: PacketRequest | None) -> None:
        super().__init__()
        self.request = prefill_from_rule(rule, last)

    def compose(self) -> ComposeResult:
        req = self.request
        with Vertical():
            yield Label("Packet to step (Enter or ctrl+s: step; Esc: cancel)", id="form-title")
            with Grid():
                yield Label("path")
                yield Select([(p, p) for p in PATHS], value=req.path, allow_blank=False,
                             id="path", compact=True)
                yield Label("state")
                yield Select([(s, s) for s in STATES],
                             value=req.state if req.state in STATES else "NEW",
                             allow_blank=False, id="state", compact=True)
                for name, label, placeholder in FIELDS:
                    yield Label(label)
                    yield Input(str(getattr(req, name)), placeholder=placeholder, id=name,
                                compact=True)
                yield Label("bridged")
                yield Checkbox("br_netfilter", req.bridged, id="bridged", compact=True)
            yield Label("", id="form-error")
            with Horizontal():
                yield Button("Step", variant="primary", id="step", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#src", Input).focus()

    def read_form(self) -> PacketRequest:
        values = asdict(self.request)
        for name, _, _ in FIELDS:
            values[name] = self.query_one(f"#{name}", Input).value.strip()
        values["path"] = str(self.query_one("#path", Select).value)
        values["state"] = str(self.query_one("#state", Select).value)
        values["bridged"] = self.query_one("#bridged", Checkbox).value
        return PacketRequest(**values)

    def action_submit(self) -> None:
        request = self.read_form()
        problem = field_problem(request)
        if problem is None:
            try:
                request.to_packet()
            except Exception as exc:  # the form says what is wrong, never crashes
                problem = ("", f"Cannot build this packet: {exc}")
        if problem is not None:
            name, message = problem
            self.query_one("#form-error", Label).update(message)
            if name:
                self.query_one(f"#{name}", Input).focus()  # where to type the fix
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#step")
    def _step_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
