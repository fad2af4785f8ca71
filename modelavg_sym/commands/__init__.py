"""CLI subcommands: one module each (``add_arguments``, ``run``); their names and help
lines are listed in :data:`modelavg_sym.cli.COMMANDS`."""
