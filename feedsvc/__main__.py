"""``python -m feedsvc``: the command line. Guarded, because parsing worker processes
(multiprocessing's forkserver) import the main module again."""

from feedsvc.cli import main

if __name__ == "__main__":
    main()
