"""Child process of parallel batch training: ``python -m duck_synth._fit_worker``.

Reads ``training.fit_in_worker`` jobs on stdin, one after another until end of input, and
answers each with its result on stdout before reading the next. Jobs and results are
``_wire`` messages (JSON and safetensors, no pickle). The parent (``api._fit_batches``) starts
it with the running interpreter, so no user code (no ``__main__`` module) is ever imported
here, unlike ``multiprocessing``'s spawn.
"""

from __future__ import annotations

import sys


def main() -> None:
    source, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed while training must not corrupt the result stream
    from duck_synth._wire import read_message, write_message
    from duck_synth.training import TrainConfig, fit_in_worker

    while True:
        try:
            meta, tensors = read_message(source)
        except EOFError:
            return
        weights, epochs_run, best, last, seconds, history = fit_in_worker(
            tensors["tokens"].numpy(), meta["cfg"], TrainConfig(**meta["tc"]), meta["minibatch"], meta["epochs"],
            meta["threads"])
        write_message(out, {"epochs_run": epochs_run, "best": best, "last": last, "seconds": seconds,
                            "history": history}, weights)


if __name__ == "__main__":
    main()
