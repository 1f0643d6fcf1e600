"""Metrics from a command trial's output lines: report lines, regexes, the accumulator, OOM text, the helper."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from hpo.trainables.command.parsing import (
    REPORT_PREFIX,
    Accumulator,
    ParseStats,
    RegexSource,
    is_oom,
    parse_report_line,
)
from hpo.trainables.command.report import report


def test_a_report_line_gives_its_numbers_as_floats_in_order() -> None:
    stats = ParseStats()
    line = 'hpo-report: {"val_loss": 0.31, "epoch": 1, "lr": 1e-3}\n'
    assert parse_report_line(line, stats=stats) == {"val_loss": 0.31, "epoch": 1.0, "lr": 0.001}
    assert list(parse_report_line(line) or {}) == ["val_loss", "epoch", "lr"]
    assert stats == ParseStats(lines=1, reports=1, malformed=0, skipped_values=0)


@pytest.mark.parametrize("line", [
    'hpo-report: {"val_loss": 0.5}',
    'hpo-report: {"val_loss": 0.5}\r\n',
    '   hpo-report: {"val_loss": 0.5}',  # indented
    '[default0]:hpo-report: {"val_loss": 0.5}',  # torchrun --local-ranks-filter's prefix
    'epoch 3 10%\repoch 3 100%\rhpo-report: {"val_loss": 0.5}',  # after a progress bar's carriage returns
])
def test_a_report_line_may_follow_whitespace_torchruns_prefix_or_a_carriage_return(line: str) -> None:
    assert parse_report_line(line) == {"val_loss": 0.5}


@pytest.mark.parametrize("line", [
    "Average loss: 0.5",
    'INFO:root:hpo-report: {"val_loss": 0.5}',  # mentions the prefix: not a report
    'hpo-report:{"val_loss": 0.5}',  # the prefix is "hpo-report: " with its space
    "HPO-REPORT: {}",
    "",
])
def test_other_lines_are_not_reports_and_count_only_as_lines(line: str) -> None:
    stats = ParseStats()
    assert parse_report_line(line, stats=stats) is None
    assert stats == ParseStats(lines=1)


def test_nan_infinities_and_non_numbers_are_skipped_and_counted() -> None:
    stats = ParseStats()
    line = ('hpo-report: {"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400, "e": true, "f": "0.5", '
            '"g": null, "h": [1], "i": {"j": 1}, "k": 2}')
    assert parse_report_line(line, stats=stats) == {"k": 2.0}
    assert stats == ParseStats(lines=1, reports=1, malformed=0, skipped_values=9)
    assert stats.describe() == "1 line, 1 report line, 9 values skipped (not a finite number)"


@pytest.mark.parametrize("payload", ['{"val_loss": 0.5', "[1, 2]", "0.5", '"text"', "", "{'val_loss': 0.5}"])
def test_a_report_line_that_is_not_a_json_object_is_malformed_never_raised(payload: str) -> None:
    stats = ParseStats()
    assert parse_report_line(REPORT_PREFIX + payload, stats=stats) is None
    assert stats == ParseStats(lines=1, reports=0, malformed=1)
    assert stats.describe() == "1 line, 0 report lines, 1 malformed (not a JSON object after hpo-report:)"


def test_an_empty_object_is_a_report_with_no_metrics() -> None:
    stats = ParseStats()
    assert parse_report_line("hpo-report: {}", stats=stats) == {}
    assert stats.describe() == "1 line, 1 report line"


def test_every_regex_is_applied_to_a_line_and_each_named_group_that_is_a_number_is_a_metric() -> None:
    source = RegexSource([r"Average loss: (?P<val_loss>[0-9.na]+)", r"Accuracy: \d+/\d+ \((?P<val_acc>[0-9.]+)%\)",
                          r"lr=(?P<lr>\S+)"])
    line = "Test set: Average loss: 0.0451, Accuracy: 9857/10000 (98.57%)\n"
    assert source.match(line) == {"val_loss": 0.0451, "val_acc": 98.57}
    assert source.match("Average loss: nan") == {}  # NaN is no metric
    assert source.match("Train Epoch: 1 [0/60000]") == {}
    assert source.match("lr=1e-3 Average loss: 0.5") == {"val_loss": 0.5, "lr": 0.001}
    assert (source.lines, source.matches, source.seen) == (4, 2, {"val_loss": 2, "val_acc": 1, "lr": 1})
    assert source.describe() == ("3 patterns matched 2 of 4 lines (read: val_loss x2, val_acc x1, lr x1); "
                                 "not a number: val_loss='nan'")


def test_a_group_that_matched_text_which_is_no_number_is_named_by_describe() -> None:
    source = RegexSource([r"Average loss: (?P<val_loss>\S+)"])
    assert source.match("Test set: Average loss: 0.0451, Accuracy: 9857/10000 (98.57%)") == {}
    assert source.match("Average loss: 0.5") == {"val_loss": 0.5}
    assert source.describe() == "1 pattern matched 1 of 2 lines (read: val_loss x1); not a number: val_loss='0.0451,'"


def test_an_optional_group_that_did_not_take_part_is_left_out() -> None:
    source = RegexSource([r"loss (?P<loss>[0-9.]+)(?: acc (?P<acc>[0-9.]+))?"])
    assert source.match("loss 0.5") == {"loss": 0.5}
    assert RegexSource([r"x"]).describe() == "1 pattern matched 0 of 0 lines"


def test_a_result_is_complete_once_every_required_metric_is_in_and_the_others_ride_along() -> None:
    acc = Accumulator(["val_loss", "val_acc"])
    assert acc.feed({"train_loss": 0.9, "epoch": 1.0}, at=10.0) is None
    assert acc.feed({"val_acc": 0.5}, at=11.0) is None
    assert acc.feed({"train_loss": 0.8}, at=12.0) is None  # a later value wins, in its first place
    assert acc.feed({"val_loss": 0.4}, at=13.0) == {"train_loss": 0.8, "epoch": 1.0, "val_acc": 0.5,
                                                    "val_loss": 0.4, "hpo_printed_at": 13.0}
    assert list(acc.feed({"val_loss": 0.3, "val_acc": 0.6}, at=14.0) or {}) == ["val_loss", "val_acc",
                                                                                 "hpo_printed_at"]
    assert acc.results == 2
    assert acc.feed({"val_loss": 0.2}, at=15.0) is None  # val_acc not seen since the last result
    assert acc.pending == {"val_loss": 0.2}
    assert acc.flush() is None  # incomplete: dropped
    assert acc.pending == {}


def test_one_line_matched_by_two_regexes_gives_one_result() -> None:
    source = RegexSource([r"loss: (?P<val_loss>[0-9.]+)", r"acc: (?P<val_acc>[0-9.]+)"])
    acc = Accumulator(["val_loss", "val_acc"])
    results = [acc.feed(source.match(line), at=float(i)) for i, line in enumerate(
        ["loss: 0.5 acc: 0.7", "loss: 0.4 acc: 0.8"])]
    assert results == [{"val_loss": 0.5, "val_acc": 0.7, "hpo_printed_at": 0.0},
                       {"val_loss": 0.4, "val_acc": 0.8, "hpo_printed_at": 1.0}]


def test_extra_keys_ride_along_without_completing_a_result() -> None:
    acc = Accumulator(["val_loss"])
    assert acc.feed({}, at=1.0, extra={"tensorboard_step": 3}) is None
    assert acc.feed({"val_acc": 0.9}, at=2.0, extra={"tensorboard_step": 4}) is None
    assert acc.feed({"val_loss": 0.2}, at=3.0, extra={"tensorboard_step": 5}) == {
        "tensorboard_step": 5, "val_acc": 0.9, "val_loss": 0.2, "hpo_printed_at": 3.0}
    assert acc.flush() is None


def test_tunes_own_keys_are_dropped_and_named() -> None:
    acc = Accumulator(["loss"])
    result = acc.feed({"training_iteration": 7.0, "done": 1.0, "hpo_printed_at": 1.0, "loss": 0.5}, at=2.0)
    assert result == {"loss": 0.5, "hpo_printed_at": 2.0}
    assert acc.dropped == {"training_iteration", "done", "hpo_printed_at"}


def test_with_no_required_metric_every_line_with_a_metric_is_a_result() -> None:
    acc = Accumulator([])
    assert acc.feed({}, at=1.0) is None
    assert acc.feed({"loss": 0.5}, at=2.0) == {"loss": 0.5, "hpo_printed_at": 2.0}
    assert acc.flush() is None


@pytest.mark.parametrize(("line", "oom"), [
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", True),
    ("RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`", True),
    ("torch.cuda.OutOfMemoryError", True),
    ("MemoryError", False),
    ("cuda out of memory", False),  # CUDA's text is capitalised
    ("RuntimeError: DataLoader worker (pid 123) is killed by signal: Killed.", False),
])
def test_is_oom_knows_cudas_and_torchs_out_of_memory_texts(line: str, oom: bool) -> None:
    assert is_oom(line) is oom


def test_the_helper_prints_a_line_the_parser_reads(capsys: pytest.CaptureFixture[str]) -> None:
    np = pytest.importorskip("numpy")
    report(val_loss=0.31, epoch=1, acc=np.float32(0.5), note="x", bad=float("nan"))
    out = capsys.readouterr().out
    assert out == 'hpo-report: {"val_loss": 0.31, "epoch": 1, "acc": 0.5, "note": "x", "bad": NaN}\n'
    stats = ParseStats()
    assert parse_report_line(out, stats=stats) == {"val_loss": 0.31, "epoch": 1.0, "acc": 0.5}
    assert stats.skipped_values == 2


def test_the_helper_prints_what_json_cannot_hold_as_text() -> None:
    class Tensor:
        def __float__(self) -> float:
            raise ValueError("only one element tensors can be converted to Python scalars")

        def __repr__(self) -> str:
            return "tensor([1, 2])"

    assert json.loads(_printed(lambda: report(t=Tensor()))[len(REPORT_PREFIX):]) == {"t": "tensor([1, 2])"}


def test_the_two_line_version_prints_the_same_line() -> None:
    metrics = {"val_loss": 0.31, "epoch": 1}
    assert _printed(lambda: print("hpo-report: " + json.dumps(metrics), flush=True)) == _printed(
        lambda: report(**metrics))


def test_the_helper_imports_neither_ray_nor_torch_nor_pydantic() -> None:
    code = ("import sys; from hpo.trainables.command.report import report; report(a=1); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'torch', 'pydantic', 'numpy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == 'hpo-report: {"a": 1}\n[]\n'


def _printed(action: Callable[[], object]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        action()
    return buffer.getvalue()
