"""Child process of parallel batch training: ``python -m duck_synth._fit_worker``.

Reads pickled ``training.fit_in_worker`` argument tuples on stdin, one after another until
end of input, and answers each with its pickled result on stdout before reading the next.
The parent (``api._fit_batches``) starts it with the running interpreter, so no user code
(no ``__main__`` module) is ever imported here, unlike ``multiprocessing``'s spawn; the
pickles only ever travel between these two processes of duck_synth.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    source, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed while training must not corrupt the result stream
    from duck_synth.training import fit_in_worker

    while True:
        try:
            job = pickle.load(source)
        except EOFError:
            return
        pickle.dump(fit_in_worker(*job), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    main()
