"""The driver's TensorBoard writer: the events Ray's TBXLoggerCallback writes, in a file TensorBoard reads."""

from __future__ import annotations

from pathlib import Path

from tb_files import events  # tests/search_tests (its conftest puts it on the path)

from hpo.search.engine.tbx import SyncEventWriter, tensorboard_callback


def test_scalars_and_hparams_land_in_one_readable_events_file(tmp_path: Path) -> None:
    from tensorboardX.summary import hparams

    writer = SyncEventWriter(str(tmp_path))
    writer.add_scalar("ray/tune/loss", 0.5, global_step=1)
    writer.add_scalar("ray/tune/loss", 0.25, global_step=2)
    writer.flush()  # readable before close: TensorBoard tails the file while the trial runs
    (path,) = tmp_path.glob("events.out.tfevents.*")
    assert len(events(path)) == 3
    for summary in hparams({"lr": 0.1, "opt": "sgd"}, {"ray/tune/loss": 0.25}):
        writer.file_writer.add_summary(summary)
    writer.close()
    written = events(path)
    assert written[0].file_version == "brain.Event:2"
    scalars = [(e.step, v.tag, v.simple_value) for e in written[1:3] for v in e.summary.value]
    assert scalars == [(1, "ray/tune/loss", 0.5), (2, "ray/tune/loss", 0.25)]
    assert [v.tag for e in written[3:] for v in e.summary.value] == [
        "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"]
    assert not list(tmp_path.glob("*.media"))  # no second writer unless an image or histogram comes


def test_the_callback_is_tunes_own_so_tune_adds_no_second_one() -> None:
    from ray.tune.logger import TBXLoggerCallback
    from ray.tune.utils.callback import DEFAULT_CALLBACK_CLASSES

    callback = tensorboard_callback()
    assert type(callback) is TBXLoggerCallback and TBXLoggerCallback in DEFAULT_CALLBACK_CLASSES
