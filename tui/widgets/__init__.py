"""The app's widgets, one per module. Widgets hold no ruleset logic."""
