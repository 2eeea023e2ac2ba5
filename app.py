"""`python app.py [OPTIONS]` is `s1app ui [OPTIONS]`: the web UI (options: `python app.py --help`)."""
import sys

from s1app.cli import main

if __name__ == "__main__":
    main(["ui", *sys.argv[1:]])
