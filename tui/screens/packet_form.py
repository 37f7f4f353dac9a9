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

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("proto", "protocol", "tcp, udp, icmp…"),
    ("src", "source", "14.52.45.2"),
    ("sport", "src port", ""),
    ("dst", "destination", "14.52.45.10"),
    ("dport", "dst port", ""),
    ("in_iface", "in iface", "eth0"),
    ("out_iface", "out iface", ""),
    ("physdev_in", "physdev in", "bridge port"),
    ("physdev_out", "physdev out", "tap6746373c-01"),
    ("mac_src", "source MAC", ""),
    ("tcp_flags", "TCP flags", "SYN"),
    ("icmp_type", "ICMP type", "8/0"),
    ("mark", "mark", "0x0"),
)
PATHS = ("input", "forward", "output")
STATES = ("NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED")


class PacketFormDialog(ModalScreen[PacketRequest | None]):
    DEFAULT_CSS = """
    PacketFormDialog { align: center middle; }
    PacketFormDialog > Vertical {
        width: 96; height: auto; max-height: 95%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    PacketFormDialog Grid {
        grid-size: 4; grid-columns: 13 1fr 13 1fr; grid-rows: 3; height: auto;
    }
    PacketFormDialog Grid Label { padding: 1 0 0 1; }
    PacketFormDialog #form-title { text-style: bold; padding: 0 0 1 0; }
    PacketFormDialog #form-error { color: $error; height: auto; }
    PacketFormDialog Horizontal { height: auto; align-horizontal: right; }
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
                             id="path")
                yield Label("state")
                yield Select([(s, s) for s in STATES],
                             value=req.state if req.state in STATES else "NEW",
                             allow_blank=False, id="state")
                for name, label, placeholder in FIELDS:
                    yield Label(label)
                    yield Input(str(getattr(req, name)), placeholder=placeholder, id=name)
                yield Label("bridged")
                yield Checkbox("br_netfilter", req.bridged, id="bridged")
            yield Label("", id="form-error")
            with Horizontal():
                yield Button("Step", variant="primary", id="step")
                yield Button("Cancel", id="cancel")

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
        try:
            request.to_packet()
        except Exception as exc:  # the form says what is wrong, never crashes
            self.query_one("#form-error", Label).update(f"Cannot build this packet: {exc}")
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
