"""The ``--out`` directory of ``chainrule train``: what a run leaves there, and the rules
that keep two runs from mixing (refuse another run's directory unless --resume or
--overwrite; resume only what can be resumed).

``run.json`` records the run's options and state (running, finished, diverged,
interrupted) from its first moment, so ``--resume`` can reuse the options and a later run
can tell that the directory is taken.
"""
import json
import os
import shutil
import tempfile

import numpy

from .common import CommandError, open_regular_file

RUN_FILE = "run.json"
FORMAT = "chainrule-run-1"
#: what a run writes into --out; --overwrite removes exactly these (nothing else)
ARTIFACTS = (RUN_FILE, "model.safetensors", "metrics.json", "history.csv", "report.html",
             "checkpoints")


class RunDirectory:
    """One run's --out directory."""

    def __init__(self, path):
        self.path = path
        self.checkpoints = os.path.join(path, "checkpoints")

    def join(self, name):
        return os.path.join(self.path, name)

    # ------------------------------------------------------------ reading
    def holds_run(self):
        return os.path.isdir(self.path) and any(os.path.lexists(self.join(name))
                                                for name in ARTIFACTS)

    def record(self):
        """The parsed run.json (a dict), or None when there is none."""
        name = self.join(RUN_FILE)
        if not os.path.lexists(name):
            return None
        f, _ = open_regular_file(name, "run file", max_bytes=2**20)
        try:
            with f:
                record = json.loads(f.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise CommandError(f"{name} is not a chainrule run file (not valid JSON)",
                               hint="use --overwrite to replace the run") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT or \
                not isinstance(record.get("options"), dict):
            raise CommandError(f"{name} is not a chainrule run file",
                               hint="use --overwrite to replace the run")
        return record

    def checkpoint_list(self):
        """(epoch, path) of the run's epoch checkpoints, oldest first."""
        from ..io.checkpoint import checkpoints_in
        return checkpoints_in(self.checkpoints)

    def epochs_done(self):
        found = self.checkpoint_list()
        return found[-1][0] if found else 0

    def describe(self):
        """'a run of mlp on digits: 20 of 20 epochs, finished' (as far as it is known)."""
        record = self.record() if os.path.isfile(self.join(RUN_FILE)) else None
        done = self.epochs_done()
        if record is None:
            return f"a run with {done} epochs of checkpoints" if done else "a run's files"
        options = record["options"]
        return (f"a run of {options.get('model')} on {options.get('dataset')}: {done} of "
                f"{options.get('epochs')} epochs checkpointed, {record.get('status')}")

    # ------------------------------------------------------------ the rules
    def check_usable(self):
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise CommandError(f"--out {self.path} exists and is not a directory")

    def check_new_run(self, overwrite):
        """A new run may use this directory: it holds no run, or --overwrite was given."""
        self.check_usable()
        if self.holds_run() and not overwrite:
            raise CommandError(f"--out {self.path} already holds {self.describe()}",
                               hint="add --resume to continue it, --overwrite to replace it, "
                                    "or choose another --out")

    def check_resumable(self, epochs):
        """--resume can continue this run up to ``epochs``: it has a checkpoint, and is not
        already there."""
        self.check_usable()
        done = self.epochs_done()
        if not done:
            where = self.checkpoints if os.path.isdir(self.path) else self.path
            raise CommandError(f"--resume: there is no checkpoint to resume from in {where}",
                               hint="start the run without --resume")
        if epochs <= done:
            raise CommandError(f"--resume: {self.path} has already trained {done} epochs, "
                               f"and --epochs is {epochs}",
                               hint=f"pass --epochs N with N above {done} to train further")
        return done

    # ------------------------------------------------------------ writing
    def clear(self):
        """Remove what a run wrote (--overwrite); other files in the directory stay."""
        for name in ARTIFACTS:
            target = self.join(name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.unlink(target)

    def write_record(self, options, status, **details):
        """Write run.json atomically: the run's options and its state."""
        os.makedirs(self.path, exist_ok=True)
        record = {"format": FORMAT, "status": status, "options": options, **details}
        fd, temporary = tempfile.mkstemp(prefix=".tmp-run-", suffix=".json", dir=self.path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f, indent=2, default=_plain)
            os.replace(temporary, self.join(RUN_FILE))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def forget(self):
        """Remove run.json (and an empty checkpoints/): a run interrupted before its first
        checkpoint leaves nothing behind that would block starting it again."""
        if os.path.lexists(self.join(RUN_FILE)):
            os.unlink(self.join(RUN_FILE))
        if os.path.isdir(self.checkpoints) and not os.listdir(self.checkpoints):
            os.rmdir(self.checkpoints)

    def keep_last_good(self, model, stop_epoch):
        """After a divergence in ``stop_epoch``: delete the checkpoints written from then on
        (best.safetensors too, if it is one) and any whose weights are not finite; load the
        newest good one into ``model``. Returns ``(epoch, path)`` of it, or None."""
        from ..io.checkpoint import load_checkpoint
        best = os.path.join(self.checkpoints, "best.safetensors")
        if os.path.isfile(best) and (load_checkpoint(best, restore_rng=False)["epoch"] or
                                     stop_epoch) >= stop_epoch:
            os.unlink(best)
        for epoch, path in reversed(self.checkpoint_list()):
            if epoch < stop_epoch:
                load_checkpoint(path, model, restore_rng=False)
                if all(numpy.isfinite(p.numpy()).all() for p in model.parameters()):
                    return epoch, path
            os.unlink(path)
        return None


def _plain(value):
    if isinstance(value, numpy.generic):
        return value.item()
    raise TypeError(f"cannot write a {type(value).__name__} into run.json")
