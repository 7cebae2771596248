"""`python -m fairdebt.fakes` runs the fake Breathing Space register (the only fake so far).

The same as `python -m fairdebt.fakes.breathing_space`; see that module for the options.
"""

from fairdebt.fakes.breathing_space import main

if __name__ == "__main__":
    raise SystemExit(main())
