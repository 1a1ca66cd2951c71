"""Starts the assistant's processes, waits until each answers, stops them all together.

`python -m bot.run` (what `make run` calls) checks the data and the profile (`preflight.py`),
writes the files Rasa and nginx read (`files.py`), describes the services of the profile
(`topology.py`) and supervises them (`supervision.py`): it prints what runs where, and on
Ctrl-C, SIGTERM or the repeated death of a child stops every child. No terminal is needed.
`python -m bot.run shell` starts the action server and talks to the bot in the terminal.
"""
