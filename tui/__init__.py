"""iptscope's front ends: the CLI (`tui.cli`), Rich rendering (`tui.render`) and the Textual app
(`tui.app`). Importing this package loads neither Textual nor Rich."""
