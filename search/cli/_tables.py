"""Tables that fit the terminal: what names a row (ids, status, the metric) is never cut.

Rich shrinks a table that is wider than the terminal by cutting cells (``e4790_000…``): every
random-search trial id of one sweep then reads the same. Here each column says what it may do
instead: nothing (it is always whole), wrap at spaces or fold, or be left out (the caller prints
which, in one line). The widths are worked out before rich sees the table, so rich never cuts.

Private to ``hpo.search.cli``; the command modules import these public names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.text import Text

__all__ = ["FittedTable", "TableColumn", "fit_table", "left_out_note", "print_fitted"]

Wrap = Literal["none", "words", "fold"]

# rich's default box with padding (0, 1): a column costs its width + 2 (padding) + 1 (its border),
# and the table one more for its left edge.
_PER_COLUMN = 3
_EDGE = 1
_NOTE_NAMES = 8  # the note names this many left-out columns, then counts the rest


@dataclass(frozen=True)
class TableColumn:
    """One column and its cells, with what it may do when the terminal is narrow.

    Attributes:
        header: The column's heading (shown as is: it is never read as rich markup).
        cells: One value per row: plain text (never read as markup) or a styled ``rich.text.Text``.
        keep: Always shown, never cut (ids, status, the metric); a column not kept is left out
            when the kept ones and it do not fit.
        wrap: ``none``: one line, whole; ``words``: may wrap at spaces (no word is cut);
            ``fold``: may wrap anywhere, down to ``min_width`` (a long name: every character stays).
        priority: Among the columns not kept, which to show first (lower first). Columns of one
            priority are peers (one too wide is left out, a narrower one after it still shown); once
            one is left out, every column of a later priority is too.
        min_width: The narrowest a ``fold`` column gets.
        justify: ``left`` or ``right``.
        style: A rich style for the whole column (``bold``).
    """

    header: str
    cells: Sequence[str | Text]
    keep: bool = False
    wrap: Wrap = "none"
    priority: int = 0
    min_width: int = 12
    justify: Literal["left", "right"] = "left"
    style: str | None = None

    @property
    def texts(self) -> list[Text]:
        return [cell if isinstance(cell, Text) else Text(cell) for cell in self.cells]

    @property
    def natural(self) -> int:
        """The width it takes unwrapped: its longest line, heading included."""
        lines = [line for text in (Text(self.header), *self.texts) for line in text.plain.splitlines() or [""]]
        return max((Text(line).cell_len for line in lines), default=1) or 1

    @property
    def narrowest(self) -> int:
        """The width it can wrap down to without cutting anything it may not cut."""
        if self.wrap == "none":
            return self.natural
        if self.wrap == "fold":
            return min(self.natural, self.min_width)
        words = [w for text in (Text(self.header), *self.texts) for w in text.plain.split()]
        return max((Text(w).cell_len for w in words), default=1) or 1


@dataclass(frozen=True)
class FittedTable:
    """The table to print, how wide it is, and the columns left out to make it fit.

    Attributes:
        table: The rich table, each column at a fixed width.
        width: Its width in characters: at most the terminal's, unless the kept columns alone are
            wider (then it is printed wider than the terminal, still whole).
        left_out: Headings of the columns left out, in column order.
    """

    table: Any
    width: int
    left_out: tuple[str, ...] = field(default=())


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + _PER_COLUMN * len(widths) + _EDGE


def fit_table(columns: Sequence[TableColumn], *, width: int, show_header: bool = True) -> FittedTable:
    """The columns as a table at most ``width`` characters wide, leaving out what does not fit.

    Kept columns are always in. The others are added by ``priority`` while the table, every column
    at its narrowest, still fits; one that does not fit is left out, with every column of a later
    priority (its peers of the same priority are still tried). The room left is then shared among the
    columns that wrap, up to their natural width.
    """
    from rich.table import Table

    chosen = [c.keep for c in columns]
    missed: int | None = None  # the priority at which a column was first left out: later priorities are too
    for i in sorted((i for i, c in enumerate(columns) if not c.keep), key=lambda i: columns[i].priority):
        if missed is not None and columns[i].priority > missed:
            break
        trial = [*chosen[:i], True, *chosen[i + 1:]]
        if _total([c.narrowest for c, on in zip(columns, trial, strict=True) if on]) <= width:
            chosen = trial
        else:
            missed = columns[i].priority
    shown = [c for c, on in zip(columns, chosen, strict=True) if on]
    widths = [c.narrowest for c in shown]
    room = width - _total(widths)
    while room > 0:  # one character at a time to the column missing the most: wrapped columns even out
        missing = [c.natural - w for c, w in zip(shown, widths, strict=True)]
        most = max(range(len(shown)), key=lambda i: missing[i], default=None)
        if most is None or missing[most] <= 0:
            break
        widths[most] += 1
        room -= 1
    table = Table(show_header=show_header)
    for column, column_width in zip(shown, widths, strict=True):
        table.add_column(Text(column.header), width=column_width, justify=column.justify, style=column.style,
                         no_wrap=column.wrap == "none", overflow="fold")
    for row in zip(*(c.texts for c in shown), strict=True):
        table.add_row(*row)
    left_out = tuple(c.header for c, on in zip(columns, chosen, strict=True) if not on)
    return FittedTable(table=table, width=_total(widths), left_out=left_out)


def left_out_note(left_out: Sequence[str], *, width: int, wider: str) -> str | None:
    """The one line saying which columns were left out to fit ``width``, and where they are shown."""
    if not left_out:
        return None
    names = ", ".join(left_out[:_NOTE_NAMES]) + (f" and {len(left_out) - _NOTE_NAMES} more"
                                                 if len(left_out) > _NOTE_NAMES else "")
    return f"left out at {width} columns: {names}" + (f" ({wider})" if wider else "")


def print_fitted(console: Any, fitted: FittedTable) -> None:
    """Print the table whole: on a console at least as wide as the table (a terminal narrower than
    the kept columns wraps the lines rather than rich cutting cells)."""
    from rich.console import Console

    if fitted.width > console.width:
        console = Console(file=console.file, soft_wrap=False, highlight=False, no_color=console.no_color,
                          width=fitted.width, force_terminal=console.is_terminal)
    console.print(fitted.table)
