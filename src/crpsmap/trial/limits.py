"""How many parameter draws a virtual trial runs: here, with no imports, so that the command line can show
the defaults without importing the simulator."""

#: default number of parameter draws (small: each draw is a whole trial)
DEFAULT_DRAWS = 8
#: the most draws one run may ask for
MAX_DRAWS = 200
