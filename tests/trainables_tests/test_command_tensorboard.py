"""Reading a script's TensorBoard event files while it writes them: event files written for real by
tensorboardX's and torch's ``SummaryWriter``, cut, corrupted, and appearing in new subfolders."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hpo.trainables.command.tensorboard import EventTailer

TAGS = {"Loss/test": "val_loss", "Accuracy/test": "val_acc"}


def tbx_writer(folder: Path) -> Any:
    """tensorboardX's ``SummaryWriter``: it writes in a thread of its own, so what it was given is in
    its file only after ``close()``."""
    from tensorboardX import SummaryWriter

    return SummaryWriter(str(folder))


class StepWriter:
    """tensorboardX's record writer and scalar summary in this thread: each scalar is in the file when
    ``add_scalar`` returns, so a test can poll between two steps."""

    def __init__(self, folder: Path, name: str = "events.out.tfevents.1.host") -> None:
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.record_writer import RecordWriter

        folder.mkdir(parents=True, exist_ok=True)
        self._event = Event
        self._records = RecordWriter(str(folder / name))
        self._write(Event(wall_time=1.0, file_version="brain.Event:2"))

    def _write(self, event: Any) -> None:
        self.write_record(event.SerializeToString())

    def write_record(self, data: bytes) -> None:
        self._records.write(data)
        self._records.flush()

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        from tensorboardX.summary import scalar

        self._write(self._event(wall_time=1.0, step=step, summary=scalar(tag, value)))

    def close(self) -> None:
        self._records.close()


def event_file(folder: Path) -> Path:
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def test_steps_written_by_tensorboardx_complete_when_a_later_step_appears(tmp_path: Path) -> None:
    tailer = EventTailer(tmp_path, TAGS)
    assert tailer.poll() == []  # nothing written yet
    writer = tbx_writer(tmp_path / "logs")
    for step in range(3):
        writer.add_scalar("Loss/train", 1.0, step)  # not mapped: ignored
        writer.add_scalar("Loss/test", 0.31 - step / 10, step)
        writer.add_scalar("Accuracy/test", 0.5 + step / 10, step)
    writer.close()
    assert tailer.poll() == [(0, {"val_loss": 0.31, "val_acc": 0.5}), (1, {"val_loss": 0.21, "val_acc": 0.6})]
    assert tailer.has_pending
    assert tailer.poll() == []
    assert tailer.flush() == [(2, {"val_loss": 0.11, "val_acc": 0.7})]
    assert not tailer.has_pending
    assert (tailer.files_seen, tailer.scalars_seen, tailer.skipped_values, tailer.bad_records) == (1, 6, 0, 0)
    assert tailer.unmapped_tags == ["Loss/train"]
    assert tailer.describe() == (f"1 event file under {tmp_path}, 6 values of Loss/test, Accuracy/test "
                                 "(other tags: Loss/train)")


@pytest.mark.slow(seconds=3)  # imports torch.utils.tensorboard (torch, tensorboard)
def test_scalars_written_by_torchs_summary_writer_old_and_new_style(tmp_path: Path) -> None:
    tensorboard = pytest.importorskip("torch.utils.tensorboard")
    import numpy as np
    writer = tensorboard.SummaryWriter(str(tmp_path / "runs"))
    writer.add_scalar("Loss/test", 0.31, 1)  # simple_value
    writer.add_scalar("Accuracy/test", 0.9, 1, new_style=True)  # a DT_FLOAT tensor
    writer.add_scalar("Loss/test", 0.25, 2, new_style=True, double_precision=True)  # a DT_DOUBLE tensor
    writer.add_scalars("Loss", {"test": 0.7, "train": 0.8}, 2)  # one writer per key: runs/Loss_test/...
    writer.add_histogram("weights", np.array([0.1, 0.2, 0.3]), 2)  # mapped, but no scalar: skipped
    writer.add_text("notes", "not a number", 2)  # a DT_STRING tensor: not listed as another tag
    writer.close()
    tailer = EventTailer(tmp_path, {**TAGS, "Loss_test/Loss": "loss_from_add_scalars", "weights": "w"})
    assert tailer.poll() == [(1, {"val_loss": 0.31, "val_acc": 0.9})]
    assert tailer.flush() == [(2, {"loss_from_add_scalars": 0.7, "val_loss": 0.25})]
    assert (tailer.files_seen, tailer.scalars_seen, tailer.skipped_values) == (3, 4, 1)
    assert tailer.unmapped_tags == ["Loss"]  # runs/Loss_train's


def test_a_key_may_name_the_folder_of_the_run_that_holds_the_tag(tmp_path: Path) -> None:
    for run, loss in (("train", 0.9), ("test", 0.4)):
        writer = tbx_writer(tmp_path / "runs" / run)
        writer.add_scalar("loss", loss, 0)
        writer.close()
    assert EventTailer(tmp_path, {"test/loss": "val_loss"}).flush() == [(0, {"val_loss": 0.4})]
    assert EventTailer(tmp_path, {"runs/test/loss": "val_loss", "loss": "loss"}).flush() == [
        (0, {"val_loss": 0.4, "loss": 0.9})]


def test_a_record_cut_at_the_end_waits_for_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "written"
    writer = tbx_writer(source)
    writer.add_scalar("Loss/test", 0.5, 0)
    writer.add_scalar("Loss/test", 0.4, 1)
    writer.close()
    whole = event_file(source).read_bytes()
    watched = tmp_path / "watched"
    watched.mkdir()
    target = watched / event_file(source).name
    tailer = EventTailer(watched, TAGS)
    last = _record_starts(whole)[-1]
    for cut in (last + 5, last + 14, len(whole) - 1):  # inside the last record's header, data, CRC
        target.write_bytes(whole[:cut])
        assert tailer.poll() == [] and tailer.flush() == [(0, {"val_loss": 0.5})]
        target.write_bytes(whole[:5])  # start over with less than a header: nothing read
        tailer = EventTailer(watched, TAGS)
        assert tailer.flush() == []
    with target.open("wb") as out:
        out.write(whole[:-3])
        out.flush()
        assert tailer.poll() == []  # step 0 waits for a later step; step 1 is incomplete
        out.write(whole[-3:])
    assert tailer.poll() == [(0, {"val_loss": 0.5})]
    assert tailer.flush() == [(1, {"val_loss": 0.4})]
    assert tailer.bad_records == 0


def test_a_new_event_file_in_a_subfolder_is_found_at_the_next_poll(tmp_path: Path) -> None:
    tailer = EventTailer(tmp_path, TAGS)
    first = StepWriter(tmp_path / "logs" / "version_0")
    first.add_scalar("Loss/test", 0.5, 0)
    first.add_scalar("Loss/test", 0.4, 1)
    assert tailer.poll() == [(0, {"val_loss": 0.5})]
    second = tbx_writer(tmp_path / "logs" / "version_0" / "eval")
    second.add_scalar("Accuracy/test", 0.8, 1)
    second.add_scalar("Accuracy/test", 0.85, 2)
    second.close()
    first.close()
    assert tailer.poll() == [(1, {"val_loss": 0.4, "val_acc": 0.8})]
    assert tailer.flush() == [(2, {"val_acc": 0.85})]
    assert tailer.files_seen == 2


def test_nan_and_infinite_values_of_a_mapped_tag_are_skipped_and_counted(tmp_path: Path) -> None:
    writer = tbx_writer(tmp_path)
    writer.add_scalar("Loss/test", float("nan"), 0)
    writer.add_scalar("Loss/test", float("inf"), 1)
    writer.add_scalar("Loss/test", 0.5, 2)
    writer.close()
    tailer = EventTailer(tmp_path, TAGS)
    assert tailer.flush() == [(2, {"val_loss": 0.5})]
    assert (tailer.scalars_seen, tailer.skipped_values) == (1, 2)


def _two_losses(folder: Path) -> bytearray:
    """The bytes of an event file tensorboardX wrote with Loss/test at steps 0 and 1 (its records: the
    file_version event, then one per step), to corrupt."""
    writer = tbx_writer(folder)
    writer.add_scalar("Loss/test", 0.5, 0)
    writer.add_scalar("Loss/test", 0.4, 1)
    writer.close()
    return bytearray(event_file(folder).read_bytes())


def test_a_record_whose_crc_fails_twice_is_skipped_and_counted(tmp_path: Path) -> None:
    data = _two_losses(tmp_path / "src")
    records = _record_starts(bytes(data))
    data[records[1] + 14] ^= 0xFF  # a byte of the second record's data (the first is the file_version event)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / event_file(tmp_path / "src").name).write_bytes(bytes(data))
    tailer = EventTailer(tmp_path / "logs", TAGS)
    assert tailer.poll() == [] and tailer.bad_records == 0  # looked at again next time: maybe half-visible
    assert tailer.flush() == [(1, {"val_loss": 0.4})]
    assert tailer.bad_records == 1


def test_a_file_whose_framing_is_lost_is_read_no_further(tmp_path: Path) -> None:
    data = _two_losses(tmp_path / "src")
    data[_record_starts(bytes(data))[2]] ^= 0xFF  # the third record's length
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "events.out.tfevents.1.host").write_bytes(bytes(data))
    tailer = EventTailer(tmp_path / "logs", TAGS)
    assert tailer.poll() == []
    assert tailer.flush() == [(0, {"val_loss": 0.5})]
    assert tailer.bad_records == 1


def test_skip_existing_starts_after_what_an_earlier_run_wrote(tmp_path: Path) -> None:
    old = StepWriter(tmp_path / "old")
    old.add_scalar("Loss/test", 0.9, 0)
    tailer = EventTailer(tmp_path, TAGS, skip_existing=True)
    old.add_scalar("Loss/test", 0.8, 1)  # appended after: read
    old.close()
    new = tbx_writer(tmp_path / "new")
    new.add_scalar("Loss/test", 0.5, 0)
    new.close()
    assert tailer.flush() == [(0, {"val_loss": 0.5}), (1, {"val_loss": 0.8})]


def test_a_file_replaced_by_a_shorter_one_is_read_from_its_start(tmp_path: Path) -> None:
    writer = tbx_writer(tmp_path / "src")
    for step in range(3):
        writer.add_scalar("Loss/test", 0.5, step)
    writer.close()
    whole = event_file(tmp_path / "src").read_bytes()
    target = tmp_path / "logs" / "events.out.tfevents.1.host"
    target.parent.mkdir()
    target.write_bytes(whole)
    tailer = EventTailer(tmp_path / "logs", TAGS)
    assert [step for step, _ in tailer.flush()] == [0, 1, 2]
    target.write_bytes(whole[:_record_starts(whole)[2]])  # the file_version event and step 0 only
    assert tailer.flush() == [(0, {"val_loss": 0.5})]


def test_the_missing_root_and_vanished_files_are_no_error(tmp_path: Path) -> None:
    tailer = EventTailer(tmp_path / "not-yet", TAGS)
    assert tailer.poll() == [] and tailer.flush() == []
    writer = tbx_writer(tmp_path / "not-yet" / "a")
    writer.add_scalar("Loss/test", 0.5, 0)
    writer.close()
    assert tailer.flush() == [(0, {"val_loss": 0.5})]
    shutil.rmtree(tmp_path / "not-yet")
    assert tailer.poll() == [] and tailer.files_seen == 1


def test_reading_event_files_imports_no_torch(tmp_path: Path) -> None:
    writer = tbx_writer(tmp_path)
    writer.add_scalar("Loss/test", 0.5, 0)
    writer.close()
    code = ("import sys; from hpo.trainables.command.tensorboard import EventTailer; "
            f"print(EventTailer({str(tmp_path)!r}, {{'Loss/test': 'val_loss'}}).flush(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[(0, {'val_loss': 0.5})] False\n"


def _record_starts(data: bytes) -> list[int]:
    """The offset of each TFRecord in ``data``."""
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        at += 16 + struct.unpack("<Q", data[at:at + 8])[0]
    return starts


def test_a_large_record_of_an_unmapped_tag_is_passed_over(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    writer = tbx_writer(tmp_path)
    writer.add_scalar("Loss/test", 0.5, 0)
    noise = np.random.default_rng(0).integers(0, 256, (3, 256, 256), dtype=np.uint8)  # a PNG of ~200 KB
    writer.add_image("samples", noise, 0)
    writer.add_scalar("Loss/test", 0.4, 1)
    writer.close()
    assert event_file(tmp_path).stat().st_size > 128 * 1024
    tailer = EventTailer(tmp_path, TAGS)
    assert tailer.flush() == [(0, {"val_loss": 0.5}), (1, {"val_loss": 0.4})]
    assert (tailer.scalars_seen, tailer.bad_records, tailer.unmapped_tags) == (2, 0, [])


def test_a_record_that_holds_no_event_is_skipped_and_counted(tmp_path: Path) -> None:
    writer = StepWriter(tmp_path)
    writer.add_scalar("Loss/test", 0.5, 0)
    writer.write_record(b"\xff\xff\xff")  # a whole record, its CRCs right, that is no Event
    writer.add_scalar("Loss/test", 0.4, 1)
    writer.close()
    tailer = EventTailer(tmp_path, TAGS)
    assert tailer.flush() == [(0, {"val_loss": 0.5}), (1, {"val_loss": 0.4})]
    assert tailer.bad_records == 1
