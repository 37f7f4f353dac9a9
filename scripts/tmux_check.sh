#!/usr/bin/env bash
# Run the explorer in tmux on the seed sample, type keys, and check what the screen shows.
#
#   scripts/tmux_check.sh              # the checks (exit 1 on the first failure)
#   scripts/tmux_check.sh --screenshot # also export docs/screenshot.svg from the app (key E)
#
# Uses `iptscope` when installed, else `python -m tui`. Needs tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux_check: tmux is not installed" >&2; exit 2; }
if command -v iptscope >/dev/null; then APP=iptscope; else APP="python -m tui"; fi
SAMPLE=samples/neutron/iptables-L-vn-line-numbers.txt
SESSION="iptscope-check-$$"
OUT=$(mktemp -d)
SCREENSHOT=0
[ "${1:-}" = "--screenshot" ] && SCREENSHOT=1
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT

start() {  # start COMMAND...: a fresh 160x48 session running the app
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    tmux new-session -d -s "$SESSION" -x 160 -y 48 \
        "cd '$PWD' && unset COLUMNS LINES && IPTSCOPE_EXPORT_DIR='$OUT' $*; sleep 60"
}
screen() { tmux capture-pane -p -t "$SESSION"; }
keys() { tmux send-keys -t "$SESSION" "$@"; sleep 0.4; }
type_text() { tmux send-keys -t "$SESSION" -l -- "$1"; sleep 0.3; }
expect() {  # expect TEXT [SECONDS]: wait until the screen shows TEXT
    local text=$1 wait=${2:-10} i
    for ((i = 0; i < wait * 10; i++)); do
        if screen | grep -qF -- "$text"; then echo "ok: $text"; return 0; fi
        sleep 0.1
    done
    echo "FAIL: the screen never showed: $text ($(tmux display -p -t "$SESSION" "#{window_width}x#{window_height}"))" >&2
    screen >&2
    exit 1
}

# 1. open the listing: the tree, the rules, the detail pane
start "$APP $SAMPLE"
expect "neutron-openvswi-sg-fallback" 20
expect "neutron-openvswi-INPUT"
expect "Matches when:"
# 2. Enter follows INPUT #1 into neutron-openvswi-INPUT, then rule 2 into the port's chain
keys Enter
expect "INPUT #1 › neutron-openvswi-INPUT"
keys Down Enter
expect "neutron-openvswi-INPUT #2 › neutron-openvswi-o6746373c-0"
# 3. Backspace goes back, ] forward
keys BSpace
expect "INPUT #1 › neutron-openvswi-INPUT   2 rules"
keys ']'
expect "› neutron-openvswi-o6746373c-0"
if [ "$SCREENSHOT" = 1 ]; then
    keys Down Down Down Down Down Down Down
    keys E
    expect "Saved"
    cp "$OUT"/iptscope-mainscreen.svg docs/screenshot.svg
    echo "wrote docs/screenshot.svg"
fi
# 4. who references the current chain
keys r
expect "rules jump or go to neutron-openvswi-o6746373c-0"
keys Escape
# 5. search by address
keys /
type_text "14.52.45.2"
keys Enter
expect "/14.52.45.2: 2 hits (address"
# 6. the key list
keys '?'
expect "Follow jump"
keys Escape
keys q
sleep 0.5

# 7. the seed story: step the tftp reply, assume the ipset does not match, DROP, what-if, ACCEPT
start "$APP step $SAMPLE --proto udp --src 14.52.45.2 --sport 40000 --dst 14.52.45.10 \
  --dport 50000 --physdev-out tap6746373c-01 --physdev-is-bridged --state NEW"
expect "STEPPING" 20
keys c
expect "The dump cannot decide this rule"
expect "NIPv4b3a1256e-07fe-4e6b-bfc5-"
keys n
expect "DROP   decided by filter:neutron-openvswi-sg-fallback #1"
keys :
type_text "-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"
keys Enter
expect "ACCEPT   decided by filter:FORWARD #1"
keys m
expect "iptscope-trace.md"
grep -q "Verdict: ACCEPT" "$OUT/iptscope-trace.md" && echo "ok: trace exported as Markdown"
keys Escape q
echo "tmux_check: all checks passed"
